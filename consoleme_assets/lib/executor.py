"""The executor of every asset job: Dagster's default (one process per step, or all steps in the run's process
with ``execution: {config: {in_process: {}}}``), except that step processes are forked from a forkserver that
imported Dagster and these definitions once per run, instead of each step being a fresh interpreter that imports
them again (``spawn``, Dagster's default: seconds of CPU per step, most of a small step's time).

Run config may still choose ``start_method: {spawn: {}}`` (or its own forkserver preload list) per run."""

from typing import Any

import dagster as dg
from dagster._core.definitions.executor_definition import (
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
    _get_default_executor_requirements,
)

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


@dg.executor(
    name="multi_or_in_process_executor",
    config_schema=dg.multi_or_in_process_executor.config_schema,
    requirements=_get_default_executor_requirements,
)
def forkserver_or_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    config = init_context.executor_config
    if "multiprocess" in config:
        return _core_multiprocess_executor_creation(with_forkserver(dict(config["multiprocess"] or {})))
    return _core_in_process_executor_creation(config["in_process"])
