"""Shared fixtures: one real redis-server and one moto server per test session, reset per test."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator

import pytest
import redis

from consoleme_assets.sandbox import (
    DemoOrg,
    MotoServer,
    RedisServer,
    seed_demo_org,
    start_moto_server,
    start_redis_server,
)

# Settings from the developer's shell that would steer boto3 away from moto or to another identity.
_AWS_ENV_TO_DROP = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "EC2_REGION",
    "MOTO_ACCOUNT_ID",
)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server process for the whole session (see ``moto`` for a clean one per test)."""
    with start_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real ``redis-server`` for the whole session; fakeredis is not accepted here."""
    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server is not on PATH: the test suite runs against the real binary "
            "(Debian/Ubuntu: apt-get install redis-server)",
            pytrace=False,
        )
    with start_redis_server(kind="redis-server") as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoServer) -> Iterator[MotoServer]:
    """The session's moto server, emptied before the test."""
    moto_server.reset()
    yield moto_server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the session's Redis (``decode_responses=True``), flushed before the test."""
    client = redis_server.client(decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def aws_env(
    monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, redis_server: RedisServer, tmp_path_factory
) -> dict[str, str]:
    """Point boto3 (and anything reading REDIS_URL) at the session's servers; returns what it set.

    It does not reset moto or Redis: combine with ``moto`` / ``redis_client`` / ``demo_org`` for that.
    """
    for name in list(os.environ):
        if name in _AWS_ENV_TO_DROP or name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name)
    absent = tmp_path_factory.mktemp("no-aws-config") / "absent"  # keeps ~/.aws out of the tests
    env = {
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(absent),
        "AWS_SHARED_CREDENTIALS_FILE": str(absent),
        "REDIS_URL": redis_server.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def _demo_org_snapshot(moto_server: MotoServer) -> DemoOrg:
    """The demo organisation seeded once per session (per xdist worker) and kept as a moto snapshot: seeding it
    over HTTP costs seconds of CPU in the test and in moto; restoring the snapshot, a fraction of a second."""
    moto_server.reset()
    org = seed_demo_org(moto_server.url)
    moto_server.snapshot("demo_org")
    return org


@pytest.fixture
def demo_org(request: pytest.FixtureRequest, moto: MotoServer) -> DemoOrg:
    """moto holding exactly the freshly seeded demo organisation (restored from the session's snapshot; what a
    test changes is gone for the next one), and a copy of what was seeded for the test to keep or change.

    A restored organisation was created when the session started (its queued events were sent then, its roles
    created then): a test that judges such times against the clock marks itself ``fresh_demo_org`` and gets
    one seeded for it."""
    if request.node.get_closest_marker("fresh_demo_org"):
        return seed_demo_org(moto.url)
    seeded = request.getfixturevalue("_demo_org_snapshot")
    moto.restore("demo_org")
    return copy.deepcopy(seeded)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fresh_demo_org: seed the demo organisation for this test (see demo_org)")


@pytest.fixture(autouse=True)
def _no_definitions_load_state_left_behind() -> Iterator[None]:
    """Dagster keeps the definitions load context in a class attribute and the current instance's defs-state
    storage in a context variable. A test leaving either set would make every later test in its worker resolve
    definitions against it, so results would depend on which tests shared a worker and in what order (any
    `-n`, `--dist worksteal`). Fail the test that leaves one behind, naming it, and clear it for the next."""
    from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
    from dagster._core.storage.defs_state import base as defs_state

    yield
    left = {
        "DefinitionsLoadContext": DefinitionsLoadContext.is_set(),
        "DefsStateStorage": defs_state.DefsStateStorage.get() is not None,
    }
    if any(left.values()):
        DefinitionsLoadContext._instance = None
        defs_state._current_storage.set(None)
        pytest.fail(f"left Dagster load state set for the next test: {[k for k, v in left.items() if v]}")


pytest_plugins = ["consoleme_assets_tests.fixtures"]
