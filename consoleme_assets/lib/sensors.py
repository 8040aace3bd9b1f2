"""What the queue sensors (role changes, CloudTrail denies) share: a problem skip that is logged once, and the
check for a run of their job that has not finished yet."""

from __future__ import annotations

import logging

import dagster as dg

# A run in one of these may still receive or delete the queue's messages: no second one is launched beside it.
UNFINISHED_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def problem_skip(context: dg.SensorEvaluationContext, message: str, level: int = logging.ERROR) -> dg.SensorResult:
    """A configuration or queue problem: shown as the skip reason on every tick, logged at `level` only when it
    first appears or changes (the cursor remembers it; a sensor ticking every 15 s must not log it 240 times an
    hour). The sensor's next good tick sets the cursor back to ""."""
    if context.cursor != message:
        context.log.log(level, message)
    return dg.SensorResult(skip_reason=message, cursor=message)


def unfinished_run_id(context: dg.SensorEvaluationContext, job_name: str) -> str | None:
    """The id of a run of `job_name` that is queued, starting, running or canceling; None if there is none."""
    runs = context.instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=UNFINISHED_RUN_STATUSES), limit=1)
    return runs[0].run_id if runs else None
