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
"""

from __future__ import annotations

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
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig

__all__ = [
    "RetryMode",
    "StepDependencyConfig",
    "UnresolvedAssetJobDefinition",
    "core_in_process_executor_creation",
    "core_multiprocess_executor_creation",
    "default_executor_requirements",
    "backfill_partition_keys",
    "event_log_engine",
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
