"""The asset jobs' executor: steps in their own processes, forked from a forkserver that imported the definitions
once (lib/executor.py), or all in the run's process when run config says ``in_process``."""

from __future__ import annotations

import json

import dagster as dg
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.multiprocess import MultiprocessExecutor

from consoleme_assets.definitions import defs
from consoleme_assets.lib.executor import PRELOAD_MODULES


def _executor(config: dict):
    """The executor aws_accounts_job would build from this run config (Dagster's own config processing)."""
    from dagster._config import Shape, process_config

    executor_def = _aws_accounts_job().executor_def
    resolved = process_config(
        Shape({"config": executor_def.config_schema.as_field()}), {"config": config} if config else {}
    )
    assert resolved.success, resolved.errors
    with dg.instance_for_test() as instance:
        return executor_def.executor_creation_fn(
            InitExecutorContext(
                job=dg.reconstructable(_aws_accounts_job),
                executor_def=executor_def,
                executor_config=resolved.value["config"],
                instance=instance,
            )
        )


def _aws_accounts_job() -> dg.JobDefinition:
    return defs.resolve_job_def("aws_accounts_job")


def test_steps_fork_from_a_preloaded_forkserver_unless_config_says_otherwise():
    default = _executor({})
    assert isinstance(default, MultiprocessExecutor)
    assert default._start_method == "forkserver" and default._explicit_forkserver_preload == PRELOAD_MODULES
    tuned = _executor({"multiprocess": {"max_concurrent": 3}})
    assert tuned._start_method == "forkserver" and tuned._max_concurrent == 3
    spawn = _executor({"multiprocess": {"start_method": {"spawn": {}}}})
    assert spawn._start_method == "spawn"
    assert isinstance(_executor({"in_process": {}}), InProcessExecutor)


def test_a_job_runs_its_steps_in_forked_processes_through_the_real_executor(sandbox_env, demo_org, redis_client):
    """The one unit test on the multiprocess path (the rest run in process): aws_accounts_job as a launched run
    executes it. (The forkserver lives as long as this worker and keeps the environment it started with; a run
    worker in production starts its own for each run.)"""
    from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext

    try:
        with (
            dg.instance_for_test() as instance,
            dg.execute_job(dg.reconstructable(_aws_accounts_job), instance) as result,
        ):
            assert result.success
            started = [e for e in result.all_events if e.event_type_value == "STEP_WORKER_STARTED"]
            engine = next(
                e
                for e in result.all_events
                if e.event_type_value == "ENGINE_EVENT" and "multiprocess executor" in (e.message or "")
            )
            assert started and all(e.pid != engine.pid for e in started), [(e.step_key, e.pid) for e in started]
    finally:
        # Loading a reconstructable job, as a code server does, leaves Dagster's load context set.
        DefinitionsLoadContext._instance = None
    accounts = json.loads(redis_client.get("ALL_AWS_ACCOUNTS"))["accounts"]  # written by the forked step
    assert set(demo_org.accounts) <= {a["id"] for a in accounts}
