"""JSON encoding as ConsoleMe writes it, and the S3 envelope `{"last_updated", "data"}`."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, BinaryIO


def _consoleme_default(value: Any) -> Any:
    # ConsoleMe's SetEncoder: sets -> lists, Decimal -> float, datetime -> epoch float, exceptions -> str.
    if isinstance(value, (set, frozenset)):
        return sorted(value) if all(isinstance(v, str) for v in value) else list(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # naive datetimes are UTC here, whatever the host's timezone
            value = value.replace(tzinfo=dt.UTC)
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


class StringMap:
    """A JSON object whose values are strings, produced lazily (HSCAN over a Redis hash). `write_envelope`
    streams it, so a combined file of every account is never held in memory whole. `count` is set once
    written."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.pairs = pairs
        self.count = 0


def write_envelope(out: BinaryIO, data: StringMap, last_updated: int, gz: bool) -> None:
    """Write what `envelope` gives for `dict(data.pairs)` (same text, same gzip settings) into `out`."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31) if gz else None  # gzip framing, as gzip.compress(mtime=0)
    sink = _Sink(out, deflate)
    sink.write(f'{{\n  "last_updated": {json.dumps(last_updated)},\n  "data": {{'.encode())
    count, chunk, seen = 0, [], set()
    for name, value in data.pairs:
        if name in seen:  # HSCAN may return a field twice if the hash is resized meanwhile
            continue
        seen.add(name)
        chunk.append(f"{',' if count else ''}\n    {json.dumps(name)}: {json.dumps(value)}")
        count += 1
        if len(chunk) >= 1000:
            sink.write("".join(chunk).encode())
            chunk.clear()
    sink.write(("".join(chunk) + ("\n  }\n}" if count else "}\n}")).encode())
    sink.finish()
    data.count = count


class _Sink:
    def __init__(self, out: BinaryIO, deflate: Any):
        self.out, self.deflate = out, deflate

    def write(self, raw: bytes) -> None:
        self.out.write(self.deflate.compress(raw) if self.deflate else raw)

    def finish(self) -> None:
        if self.deflate:
            self.out.write(self.deflate.flush())


def open_envelope(body: bytes, gz: bool) -> dict[str, Any]:
    if gz or body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    loaded = json.loads(body)
    if not isinstance(loaded, dict) or "data" not in loaded:
        raise ValueError("not a ConsoleMe S3 envelope (no 'data' field)")
    return loaded
