"""Redis writes in ConsoleMe's shapes, each one atomic (MULTI/EXEC) with its LAST_UPDATED stamp."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

from .encoding import dumps_consoleme

# Our own bookkeeping keys (which fields each account owns in a shared hash); ConsoleMe never reads them.
INDEX_PREFIX = "consoleme_assets:owned"
_EMPTY_MARK = ""


class RedisStore:
    """`client` must use decode_responses=True (ConsoleMe's web tier reads strings)."""

    def __init__(self, client: redis.Redis, last_updated_key: str, clock: Callable[[], float] = time.time):
        self.client = client
        self.last_updated_key = last_updated_key
        self.clock = clock
        # key -> {account: fields} of the accounts that had no owner index when the hash was first scanned
        # (see _owned); built once per store, i.e. once per run.
        self._unindexed: dict[str, dict[str, set[str]]] = {}
        self._unindexed_lock = threading.Lock()

    def _stamp(self, pipe: Any, key: str) -> None:
        pipe.hset(self.last_updated_key, key, int(self.clock()))

    def stamp(self, key: str) -> None:
        """Move `key`'s LAST_UPDATED stamp without writing it: refreshed, nothing changed (fresh, not stale)."""
        self._stamp(self.client, key)

    def touch(self, key: str, expire_seconds: int | None = None) -> None:
        """An unchanged string: its stamp moves, and its expiry (if it has one) starts again, as a SET would."""
        with self.client.pipeline(transaction=True) as pipe:
            if expire_seconds:
                pipe.expire(key, expire_seconds)
            self._stamp(pipe, key)
            pipe.execute()

    # -- strings ---------------------------------------------------------------------------------

    def set_json(self, key: str, data: Any, expire_seconds: int | None = None) -> int:
        """SET key <json> (optionally with an expiry) and stamp it; returns the bytes written."""
        payload = data if isinstance(data, str) else dumps_consoleme(data)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, payload, ex=expire_seconds)
            self._stamp(pipe, key)
            pipe.execute()
        return len(payload)

    def get_json(self, key: str) -> Any:
        import json

        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)

    # -- hashes ----------------------------------------------------------------------------------

    def set_fields(self, key: str, fields: Mapping[str, Any]) -> int:
        """HSET each field to its JSON value in one transaction (other fields untouched)."""
        if not fields:
            return 0
        encoded = {f: v if isinstance(v, str) else dumps_consoleme(v) for f, v in fields.items()}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=encoded)
            self._stamp(pipe, key)
            pipe.execute()
        return sum(len(v) for v in encoded.values())

    def replace_hash(self, key: str, fields: Mapping[str, Any]) -> dict[str, int]:
        """Make the hash exactly `fields` (JSON values), in one transaction: fields absent now are deleted.
        Retried if another writer changed the hash meanwhile."""
        encoded = {f: v if isinstance(v, str) else dumps_consoleme(v) for f, v in fields.items()}
        while True:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    stale = sorted(set(pipe.hkeys(key)) - set(encoded))
                    pipe.multi()
                    if stale:
                        pipe.hdel(key, *stale)
                    if encoded:
                        pipe.hset(key, mapping=encoded)
                    self._stamp(pipe, key)
                    pipe.execute()
                    return {"written": len(encoded), "deleted": len(stale)}
                except redis.WatchError:
                    continue

    def replace_account_entries(
        self,
        account_id: str,
        entries: Mapping[str, Mapping[str, Any]],
        owner_of: Callable[[str, str, str], str | None],
        shared: Callable[[str], bool] = lambda field: False,
    ) -> dict[str, dict[str, int]]:
        """Make one account's fields in several shared hashes exactly `entries[key]`, in one transaction.

        `entries` maps a hash key (e.g. IAM_ROLE_CACHE) to the account's fields. Fields written before for
        this account and absent now are deleted; other accounts' fields are untouched; readers see the old
        or the new set, never a mix (WATCH + MULTI, retried if another writer touched a key). Which fields
        belong to the account is remembered in an index set per hash and account; without one (first run,
        or data written by ConsoleMe itself) `owner_of(key, field, value)` names each field's account, from
        one scan of the hash per store (see `_owned`). `shared` fields (e.g. AWS-managed policy ARNs, the same in every account) are written but
        never deleted by one account's refresh.
        """
        encoded = {
            key: {f: v if isinstance(v, str) else dumps_consoleme(v) for f, v in fields.items()}
            for key, fields in entries.items()
        }
        indexes = {key: f"{INDEX_PREFIX}:{key}:{account_id}" for key in encoded}
        while True:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*encoded, *indexes.values())
                    stale: dict[str, list[str]] = {}
                    for key, fields in encoded.items():
                        previous = self._owned(pipe, key, account_id, owner_of)
                        stale[key] = sorted(f for f in previous - set(fields) if not shared(f))
                    pipe.multi()
                    for key, fields in encoded.items():
                        if stale[key]:
                            pipe.hdel(key, *stale[key])
                        if fields:
                            pipe.hset(key, mapping=fields)
                        pipe.delete(indexes[key])
                        # The marker keeps the index alive for an account with no fields (no rescan next time).
                        pipe.sadd(indexes[key], _EMPTY_MARK, *(f for f in fields if not shared(f)))
                        self._stamp(pipe, key)
                    pipe.execute()
                    return {k: {"written": len(encoded[k]), "deleted": len(stale[k])} for k in encoded}
                except redis.WatchError:
                    continue

    def account_values(
        self, key: str, account_id: str, owner_of: Callable[[str, str, str], str | None], also: Iterable[str] = ()
    ) -> tuple[dict[str, str], bool]:
        """({field: raw value} of the account's fields in `key`, plus the `also` fields present; whether the
        account's owner index exists). What a plan compares the refresh with."""
        index = f"{INDEX_PREFIX}:{key}:{account_id}"
        indexed = bool(self.client.exists(index))
        names = sorted(self._owned(self.client, key, account_id, owner_of) | set(also))
        values: dict[str, str] = {}
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            values.update({f: v for f, v in zip(chunk, self.client.hmget(key, chunk), strict=False) if v is not None})
        return values, indexed

    def apply_account_plans(
        self, account_id: str, plans: Iterable[Any], shared: Callable[[str], bool] = lambda field: False
    ) -> dict[str, dict[str, int]]:
        """Write what each plan (`stores.changes.EntriesPlan`) says, all hashes in one transaction: HSET its
        writes, HDEL its deletes, keep the account's owner index in step, stamp LAST_UPDATED (every time: an
        unchanged cache is fresh). Unchanged fields are not touched."""
        counts: dict[str, dict[str, int]] = {}
        with self.client.pipeline(transaction=True) as pipe:
            for plan in plans:
                writes = {f: v if isinstance(v, str) else dumps_consoleme(v) for f, v in plan.writes.items()}
                deletes = plan.deletes
                index = f"{INDEX_PREFIX}:{plan.key}:{account_id}"
                if deletes:
                    pipe.hdel(plan.key, *deletes)
                if writes:
                    pipe.hset(plan.key, mapping=writes)
                if not plan.indexed:  # first write of this account: the index lists every field it owns now
                    members = [f for f in plan.fresh if not shared(f)]
                    pipe.delete(index)
                    pipe.sadd(index, _EMPTY_MARK, *members)
                else:
                    added = [f for f in plan.changes.added if not shared(f)]
                    if added:
                        pipe.sadd(index, *added)
                    if deletes:
                        pipe.srem(index, *deletes)
                self._stamp(pipe, plan.key)
                counts[plan.key] = {"written": len(writes), "deleted": len(deletes)}
            pipe.execute()
        return counts

    def set_account_field(self, key: str, account_id: str, field: str, value: Any) -> None:
        """Add or update one field of an account in a shared hash, and in its owner index if the account has one.
        Without an index (a flushed Redis, or entries ConsoleMe wrote) none is started: an index holding one field
        would claim the account whole (lib/completeness.py); the next full refresh indexes it."""
        index = f"{INDEX_PREFIX}:{key}:{account_id}"
        indexed = bool(self.client.exists(index))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, value if isinstance(value, str) else dumps_consoleme(value))
            if indexed:
                pipe.sadd(index, field)
            self._stamp(pipe, key)
            pipe.execute()

    def delete_account_field(self, key: str, account_id: str, field: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(key, field)
            pipe.srem(f"{INDEX_PREFIX}:{key}:{account_id}", field)
            self._stamp(pipe, key)
            pipe.execute()

    def _owned(self, conn: Any, key: str, account_id: str, owner_of: Callable[[str, str, str], str | None]) -> set[str]:
        index = f"{INDEX_PREFIX}:{key}:{account_id}"
        if conn.exists(index):
            return set(conn.smembers(index)) - {_EMPTY_MARK}
        # No index yet (the first refresh, or entries ConsoleMe wrote): one HSCAN of the hash, grouped by owner,
        # serves every account of this store's run. Scanning per account instead made a first refresh of N
        # accounts read the growing hash N times (over 16 minutes for 1,000 accounts x 50 roles). The snapshot
        # cannot go stale for an account that matters: whoever writes an account's fields creates its index.
        with self._unindexed_lock:
            if key not in self._unindexed:
                by_account: dict[str, set[str]] = {}
                for field, value in self.client.hscan_iter(key, count=1000):
                    owner = owner_of(key, field, value)
                    if owner:
                        by_account.setdefault(owner, set()).add(field)
                self._unindexed[key] = by_account
            return set(self._unindexed[key].get(account_id, ()))

    def owned_fields(self, key: str, account_id: str, owner_of: Callable[[str, str, str], str | None]) -> set[str]:
        """The fields of `key` that belong to the account now (what replace_account_entries would replace)."""
        return self._owned(self.client, key, account_id, owner_of)

    def get_field(self, key: str, field: str) -> Any:
        import json

        raw = self.client.hget(key, field)
        return None if raw is None else json.loads(raw)

    def get_fields(self, key: str, fields: Iterable[str]) -> dict[str, Any]:
        import json

        fields = list(fields)
        if not fields:
            return {}
        return {f: json.loads(v) for f, v in zip(fields, self.client.hmget(key, fields), strict=False) if v is not None}

    def delete_fields(self, key: str, fields: Iterable[str]) -> int:
        fields = list(fields)
        if not fields:
            return 0
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(key, *fields)
            self._stamp(pipe, key)
            return pipe.execute()[0]
