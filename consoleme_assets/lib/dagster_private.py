"""Every private Dagster API this project uses, in one place, each for a measured reason. Dagster may change them
in any release: `lib_tests/test_dagster_private.py` fails loudly, naming the one that broke, when an upgrade does.

- The executor (lib/executor.py) builds Dagster's own in-process and multiprocess executors from run config and
  reads their retry and step-dependency settings: a plan with nothing to run side by side runs in the run's
  process, saving a forkserver's second import of the definitions (about 1 s of CPU per run, measured in the
  session note of stop 19).
- The event log's SQLAlchemy engine (lib/event_log.py) tells whether a PostgreSQL event log connects per write
  (NullPool): pooling cut 421 to 127 ms of wall per partition (benchmarks/event_cost.py).
- The class of `define_asset_job`'s result, to recognise a domain's jobs among its module's objects.
- A backfill's targeted partitions of one asset (lib/range_runs.py): how many runs Dagster's multi-run backfill
  policy makes of a UI backfill, so the last of them builds the combined outputs once. No public API says it.
- The CLI's in-process runs (`materialize_streaming`): `dg.materialize` keeps every event of its run in its result
  until the run ends, about 29 KiB per account of a refresh (benchmarks/result_memory.py). The run iterator that
  `dagster api execute_run` uses hands the events over one by one and keeps none.
- The SQLite storages' connect, which makes an engine per statement batch (lib/sqlite_storage.py overrides it to
  keep the engines, and the index shard's connection): 15 to 7.7 ms of wall per partition of a refresh
  (benchmarks/event_cost.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.executor_definition import (
    _core_in_process_executor_creation as core_in_process_executor_creation,
)
from dagster._core.definitions.executor_definition import (
    _core_multiprocess_executor_creation as core_multiprocess_executor_creation,
)
from dagster._core.definitions.executor_definition import (
    _get_default_executor_requirements as default_executor_requirements,
)
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.materialize import EPHEMERAL_JOB_NAME
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.execution.api import create_execution_plan, execute_run_iterator
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sql import create_engine as create_storage_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

__all__ = [
    "INDEX_SHARD_NAME",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "DagsterSqliteStorage",
    "RetryMode",
    "SqliteEventLogStorage",
    "SqliteRunStorage",
    "StepDependencyConfig",
    "UnresolvedAssetJobDefinition",
    "core_in_process_executor_creation",
    "core_multiprocess_executor_creation",
    "default_executor_requirements",
    "backfill_partition_keys",
    "event_log_engine",
    "materialize_streaming",
    "create_storage_engine",
]


def event_log_engine(instance: dg.DagsterInstance) -> Any:
    """The SQLAlchemy engine of the instance's event log storage (None for storages without one)."""
    return getattr(instance.event_log_storage, "_engine", None)


def backfill_partition_keys(instance: dg.DagsterInstance, backfill_id: str, asset_key: dg.AssetKey) -> list[str] | None:
    """The partitions of `asset_key` a UI (asset) backfill targets; None when that cannot be read."""
    backfill = instance.get_backfill(backfill_id)
    data = getattr(backfill, "asset_backfill_data", None) if backfill is not None else None
    if data is None:
        return None
    subset = data.target_subset.partitions_subsets_by_asset_key.get(asset_key)
    return None if subset is None else list(subset.get_partition_keys())


def materialize_streaming(
    assets: Sequence[Any],
    selection: Sequence[str],
    instance: dg.DagsterInstance,
    resources: Mapping[str, object],
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    on_event: Callable[[dg.DagsterEvent], None],
) -> dg.DagsterRun:
    """`dg.materialize(assets, selection=..., raise_on_error=False)` in this process, the same job and run, but
    each event goes to `on_event` as it happens and none is kept: memory does not grow with the run's events.
    Returns the finished run's record."""
    defs = dg.Definitions(
        jobs=[dg.define_asset_job(EPHEMERAL_JOB_NAME, selection=list(selection))], assets=assets, resources=resources
    )
    # As execute_in_process does: Dagster's in-process executor, the job's own resources.
    job_def = defs.resolve_job_def(EPHEMERAL_JOB_NAME).as_ephemeral_job(resource_defs={}, input_values={})
    job = InMemoryJob(job_def=job_def)
    plan = create_execution_plan(
        job, run_config=run_config, instance_ref=instance.get_ref() if instance.is_persistent else None
    )
    run = instance.create_run_for_job(
        job_def=job_def, run_config=run_config, tags={**job_def.run_tags, **tags}, execution_plan=plan
    )
    for event in execute_run_iterator(job, run, instance):
        on_event(event)
    return instance.get_run_by_id(run.run_id)
