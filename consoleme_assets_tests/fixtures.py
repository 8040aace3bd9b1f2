"""Fixtures for the Dagster-level tests: a seeded sandbox in the environment and a test instance."""

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from consoleme_assets.definitions import build_resources
from consoleme_assets.lib.ranges import range_tags
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG


@pytest.fixture
def sandbox_env(monkeypatch, aws_env, redis_client, demo_org) -> dict[str, str]:
    """Seeded moto + empty Redis, with CONSOLEME_ASSETS_CONFIG pointing at the sandbox config."""
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(SANDBOX_CONFIG))
    return {**aws_env, "CONSOLEME_ASSETS_CONFIG": str(SANDBOX_CONFIG)}


_TEMPLATE: Path | None = None


@contextmanager
def fresh_instance() -> Iterator[dg.DagsterInstance]:
    """A new, empty SQLite test instance. Creating its schemas costs ~0.25 CPU s; copying the files of one made
    earlier in this process costs a tenth of that, so the first call makes a template and the others copy it."""
    global _TEMPLATE
    if _TEMPLATE is None:
        template = Path(tempfile.mkdtemp(prefix="dagster-instance-template-"))
        atexit.register(shutil.rmtree, template, True)  # one per worker process, removed when it exits
        with dg.instance_for_test(temp_dir=str(template)):
            pass
        _TEMPLATE = template
    with tempfile.TemporaryDirectory(prefix="dagster-instance-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(_TEMPLATE, home)
        with dg.instance_for_test(temp_dir=str(home)) as inst:
            yield inst


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with fresh_instance() as inst:
        yield inst


@pytest.fixture
def resources() -> dict:
    return build_resources()


def all_accounts_tags(instance: dg.DagsterInstance) -> dict[str, str]:
    """The run tags of one run over every account partition (what a schedule's tick asks for)."""
    keys = instance.get_dynamic_partitions("aws_accounts")
    return range_tags(keys, 0, 1, "")


@pytest.fixture
def iam_ready(sandbox_env, instance, resources):
    """The sandbox's accounts discovered and IAM refreshed for all of them, in one run."""
    from consoleme_assets_tests.catalog import aws_accounts, iam_resources

    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success
    assert dg.materialize(
        [aws_accounts, iam_resources],
        selection=[iam_resources],
        instance=instance,
        resources=resources,
        tags=all_accounts_tags(instance),
    ).success
