"""A running stack per storage profile: the sandbox, optionally PostgreSQL, and ``dagster dev``.

Logs, results and screenshots are kept under ``.artifacts/e2e/<profile>/`` (gitignored), overwritten on each run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import REPO, DagsterDev, PostgresServer, Service, assert_no_orphans, start_sandbox

ARTIFACTS = REPO / ".artifacts" / "e2e"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end tests of dagster dev (deselect with -m 'not e2e')")


# The longest tests, dealt to the workers in turn: staleness (about 235 s on a loaded CI machine), PostgreSQL
# (95 s) and Celery (95 s) on one worker, operations (340 s) and the role changes (50 s) on the other; the short
# ones fill in. Most of their time is spent waiting on Dagster's daemons.
SLOWEST = (
    "test_staleness_alerts.py::test_daemon_stopped_two_cadences_flags_stale_assets_and_alerts_once",
    "test_operations.py::test_first_minutes_checks_run_limit_and_refill[sqlite]",
    "test_dagster_dev.py::test_dagster_dev_postgres[postgres]",
    "test_role_changes_live.py::test_role_change_events_land_within_60_seconds_under_webserver_and_daemon",
    "test_celery_split.py::test_a_ui_backfill_splits_into_runs_on_two_celery_workers",
)


def worksteal_chunk_starts(total: int, workers: int) -> list[int]:
    """Where each worker's first share of the collection starts: `--dist worksteal` hands the collection out in
    contiguous shares (xdist's WorkStealingScheduling: remaining // workers left) and steals from their ends."""
    starts, at = [], 0
    for left in range(workers, 0, -1):
        starts.append(at)
        at += (total - at) // left
    return starts


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e_tests" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# Last, after `-m e2e` deselected the other tests (pytest's own hook): placed among all 534 items, the heads
# landed wherever the deselection left them, and on a fresh clone's CI the longest test ran last.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_slowest_first(items: list) -> None:
    """Each of the longest tests heads a worker's share, so they start at once on different workers and the
    others work through the rest meanwhile. Every worker collects the same order (xdist requires it): this
    depends only on the items and the worker count."""
    slow = [
        next(i for i in items if i.nodeid.endswith(name))
        for name in SLOWEST
        if any(i.nodeid.endswith(name) for i in items)
    ]
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not slow or workers < 2:
        return
    rest = [i for i in items if i not in slow]
    starts = worksteal_chunk_starts(len(items), workers)
    heads: dict[int, list] = {}
    for n, item in enumerate(slow):
        heads.setdefault(starts[n % workers], []).append(item)
    for at in sorted(heads):  # front to back: each block lands at its final position
        rest[at:at] = heads[at]
    items[:] = rest


@dataclass
class Stack:
    profile: str
    dev: DagsterDev
    sandbox: Service
    env: dict[str, str]
    artifacts: Path
    postgres: PostgresServer | None = None

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(s for s in (self.dev, self.sandbox, self.postgres and self.postgres.service) if s)


def artifacts_dir(profile: str) -> Path:
    """Kept across runs (files are overwritten, never the directory removed: two test runs of one checkout
    may overlap). Live logs are written under pytest's tmp_path and copied here at the end."""
    path = ARTIFACTS / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def stack(request, tmp_path: Path) -> Iterator[Stack]:
    """``request.param``: "sqlite" (the repo's dagster.yaml) or "postgres" (deploy/dagster.yaml)."""
    profile = request.param
    artifacts = artifacts_dir(profile)
    started: list[Service] = []
    postgres = None
    try:
        logs = tmp_path / "logs"
        logs.mkdir()
        sandbox, env = start_sandbox(logs)
        started.append(sandbox)
        dagster_home = tmp_path / "dagster_home"
        dagster_home.mkdir()
        dev_env = {**sandbox_base(env)}
        if profile == "postgres":
            postgres = PostgresServer(logs)
            started.append(postgres.service)
            postgres.create_database("dagster_e2e")
            dev_env.update(postgres.env("dagster_e2e"))
            shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
        else:
            shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
        dev = DagsterDev(dagster_home, dev_env, logs)
        started.append(dev)
        dev.wait_ready()
        yield Stack(profile, dev, sandbox, env, artifacts, postgres)
    finally:
        # Reverse start order: dagster dev (its runs use the others), PostgreSQL, then the sandbox.
        stop_seconds = {}
        for service in reversed(started):
            if postgres is not None and service is postgres.service:
                postgres.stop()
            else:
                stop_seconds[service.name] = service.stop()
        for service in started:
            shutil.copy(service.log_path, artifacts / service.log_path.name)
        assert_no_orphans(*started)
        ignored = [s.name for s in started if s.killed]
        assert not ignored, f"ignored SIGTERM and had to be SIGKILLed: {ignored} (stop took {stop_seconds})"


def sandbox_base(env: dict[str, str]) -> dict[str, str]:
    from .harness import base_env

    return {**base_env(), **env}
