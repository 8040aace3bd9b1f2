"""ConsoleMe's beat cadences as Dagster jobs and schedules, derived from the declarations: datasets naming the
same `job` are refreshed by one job (`<job>_job`) and one schedule (`<job>_<cadence label>`, UTC). A per-account
dataset's scheduled run covers every account partition, in one run."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg

from .concurrency import DATASET_TAG
from .dagster_private import UnresolvedAssetJobDefinition
from .datasets import Dataset, dataset_run_tags, shared_cadence
from .partitions import aws_accounts_partitions
from .resources import ConsoleMeResource


def jobs_of(datasets: Iterable[Dataset]) -> dict[str, list[Dataset]]:
    """{job name: the datasets it refreshes}, in declaration order."""
    out: dict[str, list[Dataset]] = {}
    for dataset in datasets:
        out.setdefault(dataset.job_name, []).append(dataset)
    return out


@functools.cache
def _job(name: str, asset_names: tuple[str, ...]) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name,
        selection=[dg.AssetKey(n) for n in asset_names],
        tags={DATASET_TAG: ",".join(asset_names)},
        description=f"Refreshes {', '.join(asset_names)}",
    )


def refresh_job(datasets: Sequence[Dataset]) -> UnresolvedAssetJobDefinition:
    """The job refreshing `datasets` (they must name the same job): one object per job, so a domain's sensor that
    targets it and the code location's list of jobs hold the same definition. Its runs carry the run tag
    `consoleme_assets/dataset` = the datasets' names (for filtering runs; the one-at-a-time limit is the pools)."""
    names = {d.job_name for d in datasets}
    if len(names) != 1:
        raise ValueError(f"datasets {[d.name for d in datasets]} name different jobs: {sorted(names)}")
    return _job(names.pop(), tuple(sorted(d.name for d in datasets)))


def all_accounts_run_request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """One run over every account partition (range tags)."""
    keys = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    if not keys:
        return dg.SkipReason("no account partitions yet: materialize aws_accounts first")
    return dg.RunRequest(
        run_key=None,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )


def every(schedule_name: str, cron: str | list[str], job: Any) -> dg.ScheduleDefinition:
    """A schedule that runs `job` at `cron` (UTC), on as soon as the daemon runs."""
    return dg.ScheduleDefinition(
        name=schedule_name,
        cron_schedule=cron,
        target=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def refresh_schedule(datasets: Sequence[Dataset]) -> dg.ScheduleDefinition:
    """The schedule of the job refreshing `datasets`, at their (shared) declared cadence. Per-account jobs run
    over every account partition, in one run. A dataset's `schedule_guard(consoleme)` may skip a tick, giving
    the reason (shown grey in the UI, rather than a run bound to fail)."""
    cadence = shared_cadence(datasets)
    job = refresh_job(datasets)
    per_account = any(d.per_account for d in datasets)
    guards: list[Callable[..., str | None]] = [d.schedule_guard for d in datasets if d.schedule_guard]
    schedule_name = job.name.removesuffix("_job") + "_" + cadence.label
    if not per_account and not guards:
        return every(schedule_name, cadence.crons if len(cadence.crons) > 1 else cadence.crons[0], job)

    decorate = dg.schedule(
        name=schedule_name,
        cron_schedule=cadence.crons if len(cadence.crons) > 1 else cadence.crons[0],
        target=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    if not guards:
        return decorate(all_accounts_run_request)

    def guarded(context: dg.ScheduleEvaluationContext, consoleme: ConsoleMeResource):
        for guard in guards:
            reason = guard(consoleme)
            if reason:
                return dg.SkipReason(reason)
        return all_accounts_run_request(context) if per_account else dg.RunRequest()

    return decorate(guarded)


def jobs_and_schedules(datasets: Iterable[Dataset]) -> tuple[list[Any], list[dg.ScheduleDefinition]]:
    groups = jobs_of(datasets)
    return [refresh_job(g) for g in groups.values()], [refresh_schedule(g) for g in groups.values()]


__all__ = ["dataset_run_tags", "every", "jobs_and_schedules", "refresh_job", "refresh_schedule"]
