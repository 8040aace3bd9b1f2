"""Redis killed in the middle of a refresh (a dedicated redis-server, stopped and restarted on its port)."""

import threading

import pytest

from consoleme_assets.sandbox import start_redis_server
from consoleme_assets.stores.redis_store import RedisStore

PASSWORD = "kill-me-s3cret"


@pytest.fixture
def own_redis(fault_env, monkeypatch):
    server = start_redis_server(password=PASSWORD, kind="redis-server")
    monkeypatch.setenv("REDIS_URL", server.url)
    yield server
    server.stop()


def _kill_on_second_write(monkeypatch, state, restart_after: float | None):
    """Stop Redis inside a transaction (the second WATCHed read, before MULTI/EXEC); optionally start an
    empty one on the same port `restart_after` seconds later (while redis-py is still retrying)."""
    original, port = RedisStore._owned, state["server"].port

    def restart():
        state["server"] = start_redis_server(port=port, password=PASSWORD, kind="redis-server")

    def owned(self, conn, key, account_id, owner_of):
        state["calls"] += 1
        if state["calls"] == 2:
            state["server"].stop()
            if restart_after is not None:
                threading.Timer(restart_after, restart).start()
        return original(self, conn, key, account_id, owner_of)

    monkeypatch.setattr(RedisStore, "_owned", owned)
    return original


def _whole_accounts(client, demo_org) -> dict[str, set[str]]:
    """account -> its cached role ARNs, asserting each account present has all of its roles."""
    by_account: dict[str, set[str]] = {}
    for arn in client.hkeys("IAM_ROLE_CACHE"):
        by_account.setdefault(arn.split(":")[4], set()).add(arn)
    for account, arns in by_account.items():
        assert arns == set(demo_org.roles[account]), f"account {account} is half-written"
    return by_account


def test_redis_down_mid_write_fails_clearly_and_next_run_completes(own_redis, refresh, demo_org, monkeypatch):
    state = {"calls": 0, "server": own_redis}
    assert refresh(["aws_accounts"]) == []
    original = _kill_on_second_write(monkeypatch, state, restart_after=None)
    try:
        failures = refresh(["iam_resources"])
        assert failures and "ConnectionError" in failures[0] and f"127.0.0.1:{own_redis.port}" in failures[0]
        assert all(a in failures[0] for a in demo_org.accounts)  # every account failed, each named
        assert PASSWORD not in "".join(failures + refresh.lines)
        monkeypatch.setattr(RedisStore, "_owned", original)
        # The server comes back empty (no persistence): nothing half-written, and the next run fills it.
        state["server"] = start_redis_server(port=own_redis.port, password=PASSWORD, kind="redis-server")
        client = state["server"].client(decode_responses=True)
        assert client.keys("*") == []
        assert refresh(["aws_accounts", "iam_resources"]) == []
        assert set(_whole_accounts(client, demo_org)) == set(demo_org.accounts)
    finally:
        state["server"].stop()
