"""AWS Config item values exactly as ConsoleMe stored them: its `un_wrap_json` (nested JSON strings parsed,
other strings URL-decoded, lists sorted) serialized the way its ujson 5.4 wrote them. Pure functions."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any
from urllib.parse import unquote_plus

TTL_SECONDS = 36 * 3600
_JSON_PREFIXES = ("{", "[", '"{', '"[')  # ConsoleMe only tries to parse strings starting like this
_TTL_AT_END = re.compile(r'"ttl":(-?\d+(?:\.\d+)?)\}\s*$')  # ttl is the item's last key, as ConsoleMe adds it


def ttl_from(now: float) -> int:
    """Epoch seconds 36 h after `now` (an epoch: UTC). ConsoleMe's utcnow().timestamp() was right on UTC hosts only."""
    return int(now + TTL_SECONDS)


def un_wrap_json(value: Any) -> Any:
    """ConsoleMe's `un_wrap_json` (consoleme/lib/generic.py), behaviour for behaviour."""
    if value is None or isinstance(value, (int, bool, float)):
        return value
    if isinstance(value, dt.datetime):
        return str(value)
    if isinstance(value, dict):
        return {k: un_wrap_json(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [un_wrap_json(v) for v in value]
        try:
            return sorted(items)  # AWS orders many lists arbitrarily
        except Exception:  # dicts, mixed types: left as they are
            return items
    try:
        if value.startswith(_JSON_PREFIXES):
            return un_wrap_json(json.loads(value))
        decoded = unquote_plus(value)
        return un_wrap_json(decoded) if decoded != value else value
    except Exception:  # not JSON after all (e.g. "[ref] x"): the raw string, not URL-decoded, as ConsoleMe
        return value


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value).replace("e-0", "e-")  # ujson writes 1e-5 where Python writes 1e-05


def _odd_float(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value) or "e-0" in repr(value)
    if isinstance(value, dict):
        return any(_odd_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_odd_float(v) for v in value)
    return False


def _encode(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        return _float_text(value)
    return json.dumps(value)


def dumps_ujson(value: Any) -> str:
    """The text ConsoleMe's `ujson.dumps` (5.4, defaults) wrote: compact, ASCII-only, "/" escaped as "\\/"."""
    text = _encode(value) if _odd_float(value) else json.dumps(value, separators=(",", ":"))
    # json.dumps never escapes "/" and "/" only occurs inside strings, so this is ujson's escape_forward_slashes.
    return text.replace("/", "\\/")


def redis_value(row: dict[str, Any]) -> str:
    """One Config item (with its ttl) as ConsoleMe's `un_wrap_json_and_dump_values` stores it."""
    return dumps_ujson(un_wrap_json(row))


def ttl_of(value: str) -> float | None:
    """The `ttl` of a cached value, or None if it has none (or is not JSON)."""
    match = _TTL_AT_END.search(value)
    if match:
        return float(match.group(1))
    try:
        ttl = json.loads(value).get("ttl")
    except (ValueError, AttributeError):
        return None
    return float(ttl) if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) else None
