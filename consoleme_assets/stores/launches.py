"""Bookkeeping of split refreshes in Redis (our keys; ConsoleMe never reads them): which run holds which account,
and which ranges of a launch have finished.

Claims: a run claims all its accounts of a dataset at once or none (a Lua script, so two runs claiming
overlapping sets cannot each get half), holds them while it refreshes, renews them while alive and releases them
at the end. A run that died leaves claims that expire after `ttl_seconds`. Waiting for a claim is the caller's
choice (lib/account_refresh.py waits).

Launches: each run of a split launch adds its member id to the launch's set when it finishes, failed or not;
the one whose addition completes the set is the last and builds the combined outputs. SADD and SCARD run in one
MULTI, so exactly one run sees the set complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

CLAIM_PREFIX = "consoleme_assets:claim"
LAUNCH_PREFIX = "consoleme_assets:launch"
LAUNCH_TTL_SECONDS = 2 * 24 * 3600  # a launch whose last range never finished is forgotten after two days

# KEYS: the accounts' claim keys; ARGV: run id, ttl ms. All free (or ours): take all, return "". Else the holder.
_CLAIM = """
for _, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then return key .. '=' .. holder end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return ''
"""
# Renew or release only the claims this run still holds.
_RENEW = """
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]); n = n + 1 end
end
return n
"""
_RELEASE = """
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key); n = n + 1 end
end
return n
"""
_BATCH = 5000  # keys per script call: a 10,000-account claim stays two short calls


class AccountClaims:
    """Which run refreshes which account of a dataset now."""

    def __init__(self, client: redis.Redis, dataset: str, run_id: str, ttl_seconds: int = 300):
        self.client = client
        self.dataset = dataset
        self.run_id = run_id
        self.ttl_ms = ttl_seconds * 1000
        self._claim, self._renew, self._release = (client.register_script(s) for s in (_CLAIM, _RENEW, _RELEASE))

    def key(self, account_id: str) -> str:
        return f"{CLAIM_PREFIX}:{self.dataset}:{account_id}"

    def try_claim(self, accounts: Sequence[str]) -> tuple[str, str] | None:
        """Claim every account, or none: returns None when claimed, else (an account, the run holding it)."""
        keys = [self.key(a) for a in accounts]
        taken: list[str] = []
        for i in range(0, len(keys), _BATCH):
            batch = keys[i : i + _BATCH]
            held = self._claim(keys=batch, args=[self.run_id, self.ttl_ms])
            if held:
                if taken:
                    self._release(keys=taken, args=[self.run_id])
                key, _, holder = str(held).partition("=")
                return key.rsplit(":", 1)[-1], holder
            taken += batch
        return None

    def renew(self, accounts: Sequence[str]) -> int:
        keys = [self.key(a) for a in accounts]
        return sum(
            self._renew(keys=keys[i : i + _BATCH], args=[self.run_id, self.ttl_ms]) for i in range(0, len(keys), _BATCH)
        )

    def release(self, accounts: Sequence[str]) -> int:
        keys = [self.key(a) for a in accounts]
        return sum(self._release(keys=keys[i : i + _BATCH], args=[self.run_id]) for i in range(0, len(keys), _BATCH))

    def holder(self, account_id: str) -> str | None:
        return self.client.get(self.key(account_id))


class LaunchStore:
    """Claims and launch bookkeeping in the deployment's Redis."""

    def __init__(self, client: redis.Redis):
        self.client = client

    @classmethod
    def of(cls, caches: Any) -> LaunchStore:
        """The store of a `ConsoleMeCaches` (its Redis)."""
        return cls(caches.redis.client)

    def claims(self, dataset: str, run_id: str, ttl_seconds: int = 300) -> AccountClaims:
        return AccountClaims(self.client, dataset, run_id, ttl_seconds)

    def finish_range(self, dataset: str, launch: str, member: str, total: int) -> bool:
        """Record that `member` of `launch` finished; True for the run that completes the launch (exactly one)."""
        key = f"{LAUNCH_PREFIX}:{dataset}:{launch}"
        with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(key, member)
            pipe.scard(key)
            pipe.expire(key, LAUNCH_TTL_SECONDS)
            added, count, _ = pipe.execute()
        return bool(added) and count >= total
