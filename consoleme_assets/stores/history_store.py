"""The change history (issue 22): one record per add/change/remove of an item, kept in two places.

- A Redis stream (`consoleme_assets.history.redis_key`), trimmed to about `recent_entries` (XADD MAXLEN ~, so
  it may hold up to one stream node, 100 entries by default, more): the recent window, quick to read.
- Gzipped JSON Lines in the history bucket (`consoleme_assets.history.bucket`, default `consoleme_s3_bucket`),
  `{prefix}/{YYYY-MM-DD}/{dataset}/{run_id}-{n}.jsonl.gz`, one folder per day (UTC, of the record's time),
  swept after `retention`: what scales and survives a Redis flush.

`append` writes the stream at once and buffers the records, gzipped (a spooled file per day and dataset, on
disk past `s3_store.SPOOL_BYTES`); `flush(run_id)` writes the buffered objects. Replicas and deployments without
a bucket keep the Redis window only. `read(arn)` merges both, de-duplicated by record id (the same record may
be in both, or written twice by a retried flush), oldest first.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from .caches import ConsoleMeCaches
from .reports import WriteReport
from .s3_store import SPOOL_BYTES, s3_uri

STREAM_PAGE = 1000
CLOCK_SKEW_SECONDS = 3600  # the stream's entry ids are Redis's clock; records carry the writer's
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATASET = re.compile(r"^[A-Za-z0-9_.-]+$")


class HistoryReadError(ValueError):
    """A stored change record or history object cannot be read; the message names it (s3:// URI and line, or the
    Redis stream and entry id)."""


class HistoryWriteError(RuntimeError):
    """Some history objects could not be written; they are kept for the next flush (the Redis window has them)."""


def record_epoch(value: Any, what: str = "time") -> float:
    """A record's ISO 8601 time ("2026-12-07T13:40:00Z"; naive means UTC) as epoch seconds."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError(f"{what}: expected an ISO 8601 time such as 2026-12-07T13:40:00Z, got {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _encode(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), default=str)


class _Spool:
    """One future object: JSON lines gzipped into a spooled file as they come."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        self.gz: gzip.GzipFile | None = gzip.GzipFile(fileobj=self.file, mode="wb", mtime=0)
        self.count = 0

    def write(self, line: str) -> None:
        self.gz.write(line.encode() + b"\n")
        self.count += 1

    def finish(self) -> int:
        if self.gz is not None:
            self.gz.close()  # writes the gzip trailer; the spooled file stays open
            self.gz = None
        self.file.seek(0, 2)
        size = self.file.tell()
        self.file.seek(0)
        return size


class ChangeHistory:
    """The change records of one deployment (`caches.settings.history`). Thread-safe: accounts append at once."""

    def __init__(self, caches: ConsoleMeCaches, clock: Callable[[], float] = time.time, read_workers: int = 8):
        self.caches = caches
        self.settings = caches.settings.history
        self.clock = clock
        self.read_workers = read_workers
        self.notes: list[str] = []  # why S3 was skipped, what was kept for later (also put in a flush's report)
        self._spools: dict[tuple[str, str], _Spool] = {}
        self._unsent: list[tuple[str, str, _Spool]] = []  # (day, dataset, finished spool) a flush failed to write
        self._next_n: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def bucket(self) -> str | None:
        """Where the S3 history goes, or None when nothing is written there (no bucket, no S3 store)."""
        if self.caches.s3 is None:
            return None
        return self.settings.bucket or self.caches.settings.consoleme_s3_bucket

    # -- writing ---------------------------------------------------------------------------------

    def append(self, records: Iterable[dict]) -> int:
        """Buffer `records` for S3, then add them to the Redis window (one pipeline). Nothing when history is
        disabled. A malformed record raises, naming it and the field, before anything is written."""
        if not self.settings.enabled:
            return 0
        rows = []
        for record in records:
            label = (record.get("id") or record.get("arn")) if isinstance(record, dict) else repr(record)[:80]
            if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("id", "arn")):
                raise ValueError(f"change record {label!r}: needs string fields id and arn")
            day = day_of(record_epoch(record.get("time"), f"change record {label}: time"))
            dataset = record.get("dataset")
            if not isinstance(dataset, str) or not _DATASET.match(dataset):
                raise ValueError(
                    f"change record {label}: dataset must be a name (letters, digits, _.-), got {dataset!r}"
                )
            rows.append((day, dataset, record["arn"], _encode(record)))
        if not rows:
            return 0
        with self._lock:
            for day, dataset, _, line in rows:
                self._spools.setdefault((day, dataset), _Spool()).write(line)
        if self.settings.recent_entries > 0:
            key, maxlen = self.settings.redis_key, self.settings.recent_entries
            with self.caches.redis.client.pipeline(transaction=False) as pipe:
                for i, (_, _, arn, line) in enumerate(rows, 1):
                    pipe.xadd(key, {"arn": arn, "record": line}, maxlen=maxlen, approximate=True)
                    if i % STREAM_PAGE == 0 or i == len(rows):  # sent in pages: a first refresh adds every item
                        pipe.execute()
        return len(rows)

    def flush(self, run_id: str, report: WriteReport | None = None) -> list[str]:
        """Write the buffered records: one object per (day, dataset); returns the s3:// URIs written (also in
        `report`, with the notes). Without a bucket, or in a replica region, the buffer is dropped with a note
        (the Redis window holds the records). Objects that fail to write are kept for the next flush, and
        HistoryWriteError names them once the others are written."""
        if not re.match(r"^[A-Za-z0-9_.-]+$", run_id or ""):
            raise ValueError(f"history flush: run_id must be a name (letters, digits, _.-), got {run_id!r}")
        with self._lock:
            groups = self._unsent + [(day, ds, spool) for (day, ds), spool in sorted(self._spools.items())]
            self._spools, self._unsent = {}, []
        notes: list[str] = []
        bucket = self.bucket
        skipped = "replica region" if self.caches.settings.is_replica else None
        if skipped is None and bucket is None:
            skipped = "no bucket configured (consoleme_assets.history.bucket or consoleme_s3_bucket)"
        uris: list[str] = []
        failed: list[tuple[str, str, _Spool]] = []
        written = 0
        if skipped and groups:
            count = sum(spool.count for *_, spool in groups)
            notes.append(f"history: {count} records kept in the Redis window only, not in S3: {skipped}")
        for day, dataset, spool in [] if skipped else groups:
            size = spool.finish()
            try:
                uris.append(self._put(bucket, run_id, day, dataset, spool, size))
                written += size
            except Exception as exc:  # every group is tried; the failures are raised together below
                failed.append((day, dataset, spool))
                folder = s3_uri(bucket, f"{self.settings.prefix}/{day}/{dataset}/")
                notes.append(f"history: {spool.count} records not written to {folder}: {type(exc).__name__}: {exc}")
        for spool in {id(s): s for *_, s in groups}.values():
            if not any(spool is f for *_, f in failed):
                spool.file.close()
        self.notes += notes
        if report is not None:
            report.s3_uris += uris
            report.notes += notes
            report.bytes_written += written
        if failed:
            with self._lock:
                self._unsent += failed
            raise HistoryWriteError("; ".join(n for n in notes if "not written" in n) + " (kept for the next flush)")
        return uris

    def _put(self, bucket: str, run_id: str, day: str, dataset: str, spool: _Spool, size: int) -> str:
        folder = f"{self.settings.prefix}/{day}/{dataset}"
        first = self._next_n.get((run_id, day, dataset), 0)
        for n in range(first, first + 1000):  # n is taken when another writer of the run got there first
            key = f"{folder}/{run_id}-{n}.jsonl.gz"
            spool.file.seek(0)
            if self.caches.s3.put_bytes(bucket, key, spool.file, size=size, if_absent=True):
                self._next_n[(run_id, day, dataset)] = n + 1
                return s3_uri(bucket, key)
        raise RuntimeError(f"{s3_uri(bucket, folder)}/{run_id}-{first}..{n}.jsonl.gz: every key is taken")

    def sweep(self, now: float | None = None) -> int:
        """Delete the day folders whose every record is older than the retention (day end <= now - retention);
        returns how many objects were deleted. Lists the day folders only, then the objects of the old ones."""
        bucket = self.bucket
        if bucket is None or self.caches.settings.is_replica:
            return 0
        cutoff = day_of((self.clock() if now is None else now) - self.settings.retention_seconds)
        deleted = 0
        for folder in self.caches.s3.list_common_prefixes(bucket, f"{self.settings.prefix}/"):
            day = folder.rstrip("/").rsplit("/", 1)[-1]
            if _DAY.match(day) and day < cutoff:
                deleted += self.caches.s3.delete_keys(bucket, self.caches.s3.list_keys(bucket, folder))
        return deleted

    # -- reading ---------------------------------------------------------------------------------

    def read(self, arn: str, since_epoch: float | None = None) -> list[dict]:
        """The records of `arn` (an ARN, or a list dataset's item) with time >= `since_epoch` (default: the start
        of the retention), from the Redis window and the S3 day folders, de-duplicated by id, oldest first."""
        since = self.clock() - self.settings.retention_seconds if since_epoch is None else since_epoch
        found: dict[str, tuple[float, dict]] = {}
        for where, record in [*self._read_redis(arn, since), *self._read_s3(arn, since)]:
            try:
                epoch = record_epoch(record.get("time"), f"{where}: time")
            except ValueError as exc:
                raise HistoryReadError(str(exc)) from None
            if epoch >= since:
                found.setdefault(record["id"], (epoch, record))
        return [record for _, record in sorted(found.values(), key=lambda pair: (pair[0], pair[1]["id"]))]

    def _read_redis(self, arn: str, since: float) -> list[tuple[str, dict]]:
        client, key = self.caches.redis.client, self.settings.redis_key
        start = str(max(0, int((since - CLOCK_SKEW_SECONDS) * 1000)))
        out = []
        while True:
            try:
                page = client.xrange(key, min=start, max="+", count=STREAM_PAGE)
            except Exception as exc:  # a key of another type, an old Redis: named with the key
                raise HistoryReadError(f"Redis stream {key}: cannot read: {type(exc).__name__}: {exc}") from exc
            for entry_id, fields in page:
                if fields.get("arn") == arn:
                    where = f"Redis stream {key}, entry {entry_id}"
                    out.append((where, _record(fields.get("record") or "", where)))
            if len(page) < STREAM_PAGE:
                return out
            ms, seq = page[-1][0].split("-")
            start = f"{ms}-{int(seq) + 1}"  # after the last one (exclusive ranges need Redis 6.2)

    def _read_s3(self, arn: str, since: float) -> list[tuple[str, dict]]:
        bucket = self.bucket
        if bucket is None:
            return []
        s3, prefix, first = self.caches.s3, f"{self.settings.prefix}/", day_of(since)
        try:
            folders = s3.list_common_prefixes(bucket, prefix)
            days = [f for f in folders if _DAY.match(f[len(prefix) :].rstrip("/")) and f[len(prefix) :] >= first]
            keys = [k for day in days for k in s3.list_keys(bucket, day) if k.endswith(".jsonl.gz")]
        except Exception as exc:  # named with the place that could not be listed
            raise HistoryReadError(f"{s3_uri(bucket, prefix)}: cannot list: {type(exc).__name__}: {exc}") from exc
        needle = json.dumps(arn).encode()  # how the arn appears in a line we wrote: only those lines are parsed

        def one(key: str) -> list[tuple[str, dict]]:
            uri = s3_uri(bucket, key)
            try:
                body = s3.get_bytes(bucket, key)
            except Exception as exc:  # named with the object that could not be read
                raise HistoryReadError(f"{uri}: cannot read: {type(exc).__name__}: {exc}") from exc
            return [] if body is None else _records_of(uri, body, needle, arn)  # None: swept meanwhile

        with ThreadPoolExecutor(max_workers=max(1, min(self.read_workers, len(keys)))) as pool:
            return [row for rows in pool.map(one, keys) for row in rows]


def _record(line: str | bytes, where: str) -> dict:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise HistoryReadError(f"{where}: not JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or "time" not in record:
        raise HistoryReadError(f"{where}: not a change record (a JSON object with id and time)")
    return record


def _records_of(uri: str, body: bytes, needle: bytes, arn: str) -> list[tuple[str, dict]]:
    """The object's records of `arn`, decompressed a line at a time (a first refresh's objects are large)."""
    out = []
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body), mode="rb") as lines:
            for n, line in enumerate(lines, 1):
                if needle in line:
                    where = f"{uri}, line {n}"
                    record = _record(line, where)
                    if record.get("arn") == arn:
                        out.append((where, record))
    except (OSError, EOFError, zlib.error) as exc:
        raise HistoryReadError(f"{uri}: not a readable gzip object ({type(exc).__name__}: {exc})") from None
    return out
