"""ConsoleMe's S3 copies of the caches (the envelope is in encoding.py), written only when their data changed.

Each write is remembered in a Redis hash of our own, {s3 URI: "<sha256 of the data or *>:<epoch written>"}, so the
next write of the same data can be skipped until `consoleme_assets.writes.renew_s3_after`. A combined file is too
big to digest; it is skipped while its entry is recent, and every write that changes one of its hashes deletes the
entry's standing (`forget` counts one more change of the object's data): the rule lives here, at the store's depth,
whoever changed the hash (a refresh, another range's run, a role-change event). An entry records the change count
read *before* its data was read, so a change that lands during a long combined write leaves it behind: not lost.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from ..settings import S3Object, Settings
from .encoding import StringMap, dumps_consoleme
from .redis_store import RedisStore
from .reports import WriteReport
from .s3_store import S3Store, s3_uri

# {uri: "<sha256 of the data, or *>:<epoch written>:<changes then>", uri#changes: count}. ConsoleMe never reads
# it; lost with a Redis flush, which only means the next write of each copy is a full one.
S3_DIGESTS_KEY = "consoleme_assets:s3_digests"


class S3Copies:
    """The S3 copies of one deployment's caches: write when changed, forget, read once per run."""

    def __init__(self, settings: Settings, redis_store: RedisStore, s3_store: S3Store | None):
        self.settings = settings
        self.redis = redis_store
        self.s3 = s3_store
        self._reads: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def put(
        self,
        obj: S3Object,
        data: Any,
        report: WriteReport,
        *,
        if_changed: bool = False,
        skip_if_recent: bool = False,
        **fmt: str,
    ) -> None:
        """Write `data` to `obj`'s S3 key in ConsoleMe's envelope; the URI (or why it was skipped) goes in `report`.
        Replicas and deployments without a bucket write no S3 copy. `if_changed`: skip the PUT when the object
        holds this very data (its digest) and was written less than `renew_s3_after` ago (the envelope's
        `last_updated`, which readers may judge). `skip_if_recent`: skip it when the object was written that
        recently and not forgotten since; for data too big to digest (a streamed combined file), or data the
        caller knows is unchanged."""
        if self.settings.is_replica:  # replicas read the primary's S3 copies; they never write them
            report.notes.append("S3 copy skipped: replica region")
            return
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is None or self.s3 is None:
            report.notes.append("S3 copy skipped: no bucket configured (consoleme_s3_bucket)")
            return
        key = obj.key(**fmt)
        uri = s3_uri(bucket, key)
        digest = None
        entry, changes = self.redis.client.hmget(S3_DIGESTS_KEY, [uri, f"{uri}#changes"])  # before data is read
        if skip_if_recent and self._is_recent(entry, changes, None):
            report.s3_unchanged += 1
            return
        if if_changed and not isinstance(data, StringMap):
            digest = hashlib.sha256(dumps_consoleme(data).encode()).hexdigest()
            if self._is_recent(entry, changes, digest):
                report.s3_unchanged += 1
                return
        report.bytes_written += self.s3.put_json(bucket, key, data)
        report.s3_uris.append(uri)
        written = f"{digest or '*'}:{int(self.redis.clock())}:{changes or 0}"
        self.redis.client.hset(S3_DIGESTS_KEY, uri, written)

    def forget(self, obj: S3Object, **fmt: str) -> None:
        """The object's data changed: its next write may not be skipped."""
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is not None and not self.settings.is_replica:
            self.redis.client.hincrby(S3_DIGESTS_KEY, f"{s3_uri(bucket, obj.key(**fmt))}#changes", 1)

    def _is_recent(self, entry: str | None, changes: str | None, digest: str | None) -> bool:
        """The object was written from this data (any data, for `digest` None), recently enough to skip, and no
        change of its data was counted since."""
        parts = (entry or "").split(":")
        if len(parts) != 3:  # never written, or written before change counts were kept
            return False
        sha, written, changes_then = parts
        age = self.redis.clock() - float(written or 0)
        return (
            (digest is None or sha == digest)
            and age < self.settings.writes.renew_s3_after_seconds
            and changes_then == (changes or "0")
        )

    def read_once(self, obj: S3Object, **fmt: str) -> Any:
        """An S3 copy's data, read once per run (replica hydration reads combined files many times)."""
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is None or self.s3 is None:
            raise LookupError("no S3 bucket configured (consoleme_s3_bucket) to read ConsoleMe's S3 copies from")
        key = obj.key(**fmt)
        with self._lock:
            if (bucket, key) not in self._reads:
                self._reads[(bucket, key)] = self.s3.get_json(bucket, key)
            data = self._reads[(bucket, key)]
        if data is None:
            raise LookupError(f"s3://{bucket}/{key} does not exist")
        return data
