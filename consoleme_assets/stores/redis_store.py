"""Redis writes in ConsoleMe's shapes, each one atomic (MULTI/EXEC) with its LAST_UPDATED stamp."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

from .encoding import dumps_consoleme


class RedisStore:
    """`client` must use decode_responses=True (ConsoleMe's web tier reads strings)."""

    def __init__(self, client: redis.Redis, last_updated_key: str, clock: Callable[[], float] = time.time):
        self.client = client
        self.last_updated_key = last_updated_key
        self.clock = clock

    def _stamp(self, pipe: Any, key: str) -> None:
        pipe.hset(self.last_updated_key, key, int(self.clock()))

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

    def replace_fields(self, key: str, fields: Mapping[str, Any], owns: Callable[[str], bool], match: str = "*") -> dict:
        """Make the fields that `owns` claims exactly `fields`: set them, delete the other owned ones.

        Used where one account's entries share a hash with other accounts' (e.g. ARN-keyed caches):
        the account's vanished entries disappear, other accounts' entries are untouched, and readers
        see either the old or the new set (WATCH + MULTI; retried if another writer touched the key).
        """
        encoded = {f: v if isinstance(v, str) else dumps_consoleme(v) for f, v in fields.items()}
        while True:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    existing = [f for f, _ in pipe.hscan_iter(key, match=match, count=1000) if owns(f)]
                    stale = [f for f in existing if f not in encoded]
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

    def get_field(self, key: str, field: str) -> Any:
        import json

        raw = self.client.hget(key, field)
        return None if raw is None else json.loads(raw)

    def get_fields(self, key: str, fields: Iterable[str]) -> dict[str, Any]:
        import json

        fields = list(fields)
        if not fields:
            return {}
        return {f: json.loads(v) for f, v in zip(fields, self.client.hmget(key, fields)) if v is not None}

    def delete_fields(self, key: str, fields: Iterable[str]) -> int:
        fields = list(fields)
        if not fields:
            return 0
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(key, *fields)
            self._stamp(pipe, key)
            return pipe.execute()[0]
