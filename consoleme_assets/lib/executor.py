"""The executor of every asset job: Dagster's default (one process per step, or all steps in the run's process
with ``execution: {config: {in_process: {}}}``), with two changes.

- Step processes are forked from a forkserver that imported Dagster and these definitions once per run, instead
  of each step being a fresh interpreter that imports them again (``spawn``, Dagster's default: seconds of CPU
  per step, most of a small step's time).
- A plan with nothing to run side by side (one step, or a chain such as an asset and then its check) runs in the
  run's own process: separate processes would run its steps one at a time anyway, and the forkserver alone
  imports the definitions a second time (about 1 s of CPU per run). Most runs are such plans: one dataset's
  refresh, a backfill's run of one asset.

Run config may still choose ``start_method: {spawn: {}}`` (or its own forkserver preload list) per run; any
``multiprocess`` config it gives is used for plans with parallel steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg

from .dagster_private import (
    RetryMode,
    StepDependencyConfig,
    core_in_process_executor_creation,
    core_multiprocess_executor_creation,
    default_executor_requirements,
)

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan

# What each step needs: the definitions module imports Dagster, every domain and the AWS/Redis clients.
PRELOAD_MODULES = ["consoleme_assets.definitions"]
FORKSERVER = {"forkserver": {"preload_modules": PRELOAD_MODULES}}


def with_forkserver(multiprocess_config: dict[str, Any]) -> dict[str, Any]:
    """The multiprocess config, starting steps from the preloaded forkserver unless it names a start method."""
    return (
        multiprocess_config
        if multiprocess_config.get("start_method")
        else {**multiprocess_config, "start_method": FORKSERVER}
    )


def has_parallel_steps(plan: ExecutionPlan) -> bool:
    """Whether some level of the plan has two steps or more, i.e. separate processes could overlap."""
    return any(len(level) > 1 for level in plan.get_steps_to_execute_by_level())


class ProcessPerParallelStepExecutor(dg.Executor):
    """Separate step processes only for plans that can use them (module docstring); both executors are
    Dagster's own, built from the same run config."""

    def __init__(self, multiprocess: dg.Executor, in_process: dg.Executor):
        self.multiprocess = multiprocess
        self.in_process = in_process

    @property
    def retries(self) -> RetryMode:
        return self.multiprocess.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self.multiprocess.step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[dg.DagsterEvent]:
        chosen = self.multiprocess if has_parallel_steps(execution_plan) else self.in_process
        yield from chosen.execute(plan_context, execution_plan)


@dg.executor(
    name="multi_or_in_process_executor",
    config_schema=dg.multi_or_in_process_executor.config_schema,
    requirements=default_executor_requirements,
)
def forkserver_or_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    config = init_context.executor_config
    if "in_process" in config:
        return core_in_process_executor_creation(config["in_process"])
    multiprocess = dict(config["multiprocess"] or {})
    # The in-process side keeps the run's retry and step-dependency settings.
    shared = {k: multiprocess[k] for k in ("retries", "step_dependency_config") if k in multiprocess}
    return ProcessPerParallelStepExecutor(
        core_multiprocess_executor_creation(with_forkserver(multiprocess)),
        core_in_process_executor_creation(shared),
    )
