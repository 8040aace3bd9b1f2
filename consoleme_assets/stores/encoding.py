"""JSON encoding as ConsoleMe writes it, and the S3 envelope `{"last_updated", "data"}`."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from typing import Any


def _consoleme_default(value: Any) -> Any:
    # ConsoleMe's SetEncoder: sets -> lists, Decimal -> float, datetime -> epoch float, exceptions -> str.
    if isinstance(value, (set, frozenset)):
        return sorted(value) if all(isinstance(v, str) for v in value) else list(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # naive datetimes are UTC here, whatever the host's timezone
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseException):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_consoleme(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, default=_consoleme_default, indent=indent)


def envelope(data: Any, last_updated: int, gz: bool) -> bytes:
    """The body ConsoleMe writes to S3: indented JSON envelope, gzip-compressed for `.gz` keys."""
    body = dumps_consoleme({"last_updated": last_updated, "data": data}, indent=2).encode()
    # mtime=0 keeps identical data byte-identical across writes.
    return gzip.compress(body, mtime=0) if gz else body


def open_envelope(body: bytes, gz: bool) -> dict[str, Any]:
    if gz or body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    loaded = json.loads(body)
    if not isinstance(loaded, dict) or "data" not in loaded:
        raise ValueError("not a ConsoleMe S3 envelope (no 'data' field)")
    return loaded
