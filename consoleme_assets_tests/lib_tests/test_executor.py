"""The asset jobs' executor: steps in their own processes, forked from a forkserver that imported the definitions
once (lib/executor.py), or all in the run's process when run config says ``in_process``."""

from __future__ import annotations

import json

import dagster as dg
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.multiprocess import MultiprocessExecutor

from consoleme_assets.definitions import defs
from consoleme_assets.lib.executor import PRELOAD_MODULES, ProcessPerParallelStepExecutor
from consoleme_assets_tests.fixtures import fresh_instance


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


def test_steps_fork_from_a_preloaded_forkserver_unless_config_says_otherwise():
    default = _executor({})
    assert isinstance(default, ProcessPerParallelStepExecutor)
    assert isinstance(default.multiprocess, MultiprocessExecutor) and isinstance(default.in_process, InProcessExecutor)
    forked = default.multiprocess
    assert forked._start_method == "forkserver" and forked._explicit_forkserver_preload == PRELOAD_MODULES
    tuned = _executor({"multiprocess": {"max_concurrent": 3, "retries": {"disabled": {}}}})
    assert tuned.multiprocess._start_method == "forkserver" and tuned.multiprocess._max_concurrent == 3
    assert not tuned.retries.enabled and not tuned.in_process.retries.enabled  # both sides keep the run's retries
    spawn = _executor({"multiprocess": {"start_method": {"spawn": {}}}})
    assert spawn.multiprocess._start_method == "spawn"
    assert isinstance(_executor({"in_process": {}}), InProcessExecutor)


def _run(job_name: str) -> tuple[list, list]:
    """Launch `job_name` as a run worker would (a reconstructable job): its STEP_WORKER_STARTED events and
    the engine events naming the executor."""
    from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext

    try:
        with fresh_instance() as instance, dg.execute_job(dg.reconstructable(_JOBS[job_name]), instance) as result:
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            started = [e for e in result.all_events if e.event_type_value == "STEP_WORKER_STARTED"]
            engine = [e for e in result.all_events if e.event_type_value == "ENGINE_EVENT"]
            return started, engine
    finally:
        # Loading a reconstructable job, as a code server does, leaves Dagster's load context set.
        DefinitionsLoadContext._instance = None


def _aws_accounts_job() -> dg.JobDefinition:
    return defs.resolve_job_def("aws_accounts_job")


def _organizations_job() -> dg.JobDefinition:
    return defs.resolve_job_def("organizations_job")


_JOBS = {"aws_accounts_job": _aws_accounts_job, "organizations_job": _organizations_job}


def test_parallel_steps_fork_and_a_chain_runs_in_the_run_process(sandbox_env, demo_org, redis_client):
    """The real executor on launched runs. organizations_job has two assets side by side (each then its check):
    each step in a forked process. aws_accounts_job is a chain (the asset, then its check): in the run's
    process, with no step process at all. (The forkserver lives as long as this worker and keeps the
    environment it started with; a run worker in production starts its own for each run.)"""
    started, engine = _run("organizations_job")
    multiprocess = next(e for e in engine if "multiprocess executor" in (e.message or ""))
    assert len(started) == 4 and all(e.pid != multiprocess.pid for e in started), [(e.step_key, e.pid) for e in started]

    started, engine = _run("aws_accounts_job")
    assert started == [] and any("in process" in (e.message or "") for e in engine), [e.message for e in engine]
    accounts = json.loads(redis_client.get("ALL_AWS_ACCOUNTS"))["accounts"]
    assert set(demo_org.accounts) <= {a["id"] for a in accounts}
