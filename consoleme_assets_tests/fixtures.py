"""Fixtures for the Dagster-level tests: a seeded sandbox in the environment and a test instance."""

from collections.abc import Iterator

import dagster as dg
import pytest

from consoleme_assets.definitions import build_resources
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG


@pytest.fixture
def sandbox_env(monkeypatch, aws_env, redis_client, demo_org) -> dict[str, str]:
    """Seeded moto + empty Redis, with CONSOLEME_ASSETS_CONFIG pointing at the sandbox config."""
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(SANDBOX_CONFIG))
    return {**aws_env, "CONSOLEME_ASSETS_CONFIG": str(SANDBOX_CONFIG)}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def resources() -> dict:
    return build_resources()
