"""ConsoleMe's beat cadences as Dagster jobs and schedules, derived from the declarations: datasets naming the
same `job` are refreshed by one job (`<job>_job`) and one schedule (`<job>_<cadence label>`, UTC). A per-account
dataset's scheduled run covers every account partition, in one run."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from .completeness import upstream_gaps
from .concurrency import DATASET_TAG
from .dagster_private import UnresolvedAssetJobDefinition
from .datasets import Cadence, Dataset, dataset_run_tags, shared_cadence
from .partitions import aws_accounts_partitions
from .ranges import range_run_requests
from .resources import ConsoleMeResource
from .spread import shifted, spread


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


def all_accounts_run_requests(
    context: dg.ScheduleEvaluationContext, schedule_name: str, max_accounts_per_run: int | None = None
) -> dg.RunRequest | list[dg.RunRequest] | dg.SkipReason:
    """Runs over every account partition: one, or one per range of at most `max_accounts_per_run` (lib/ranges.py),
    sharing a launch id made of the schedule and its tick time."""
    keys = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    if not keys:
        return dg.SkipReason("no account partitions yet: materialize aws_accounts first")
    try:
        tick = context.scheduled_execution_time.isoformat()
    except Exception:  # a context built by hand (a test, the UI's "test schedule") has no tick time
        tick = str(int(time.time()))
    launch = f"{schedule_name}@{tick}"
    requests = range_run_requests(keys, max_accounts_per_run, launch, run_key=launch if max_accounts_per_run else None)
    return requests[0] if len(requests) == 1 else requests


def every(schedule_name: str, cron: str | list[str], job: Any) -> dg.ScheduleDefinition:
    """A schedule that runs `job` at `cron` (UTC), on as soon as the daemon runs."""
    return dg.ScheduleDefinition(
        name=schedule_name,
        cron_schedule=cron,
        target=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def crons_at(cadence: Cadence, offset: int) -> str | list[str]:
    crons = [shifted(c, offset) for c in cadence.crons]
    return crons if len(crons) > 1 else crons[0]


def refresh_schedule(
    datasets: Sequence[Dataset],
    offset: int = 0,
    registry: Mapping[str, Dataset] | None = None,
    max_accounts_per_run: int | None = None,
) -> dg.ScheduleDefinition:
    """The schedule of the job refreshing `datasets`, at their (shared) declared cadence, `offset` minutes into
    it (lib/spread.py). Per-account jobs run over every account partition, in one run. A dataset's
    `schedule_guard(consoleme)` may skip a tick, giving the reason (shown grey in the UI, rather than a run bound
    to fail), as does a dataset built from an upstream whose cache has a gap (`registry`: every declaration)."""
    cadence = shared_cadence(datasets)
    job = refresh_job(datasets)
    per_account = any(d.per_account for d in datasets)
    guards: list[Callable[..., str | None]] = [d.schedule_guard for d in datasets if d.schedule_guard]
    built_from = [d for d in datasets if d.deps and not d.per_account]
    schedule_name = job.name.removesuffix("_job") + "_" + cadence.label
    if not per_account and not guards and not built_from:
        return every(schedule_name, crons_at(cadence, offset), job)

    decorate = dg.schedule(
        name=schedule_name,
        cron_schedule=crons_at(cadence, offset),
        target=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    if not guards and not built_from:

        def every_account(context: dg.ScheduleEvaluationContext):
            return all_accounts_run_requests(context, schedule_name, max_accounts_per_run)

        return decorate(every_account)

    def guarded(context: dg.ScheduleEvaluationContext, consoleme: ConsoleMeResource):
        for guard in guards:
            reason = guard(consoleme)
            if reason:
                return dg.SkipReason(reason)
        for dataset in built_from:
            gaps = upstream_gaps(dataset, dict(registry or {}), consoleme.caches(), context.instance)
            if gaps:  # the build would refuse: grey in the UI, with the reason, rather than red
                return dg.SkipReason(
                    f"{dataset.name} waits for its upstream to be refilled: "
                    + " | ".join(f"{g.dataset}: {g.describe()}" for g in gaps)
                )
        if per_account:
            return all_accounts_run_requests(context, schedule_name, max_accounts_per_run)
        return dg.RunRequest()

    return decorate(guarded)


def offsets(
    groups: Mapping[str, Sequence[Dataset]],
    fixed: Iterable[Sequence[str]] = (),
    others: Mapping[str, Cadence] | None = None,
) -> dict[str, int]:
    """Each job's minute offset, spread over the day against each other, the `others` jobs' cadences (spread too)
    and the `fixed` schedules' crons."""
    cadences = {**{job: shared_cadence(g) for job, g in groups.items()}, **(others or {})}
    return spread({job: (c.crons, c.step) for job, c in cadences.items()}, fixed)


def jobs_and_schedules(
    datasets: Iterable[Dataset],
    at: Mapping[str, int] | None = None,
    registry: Mapping[str, Dataset] | None = None,
    max_accounts_per_run: int | None = None,
) -> tuple[list[Any], list[dg.ScheduleDefinition]]:
    """Every job and schedule the declarations derive, each schedule `at[job]` minutes into its cadence."""
    groups = jobs_of(datasets)
    at = at or {}
    return [refresh_job(g) for g in groups.values()], [
        refresh_schedule(g, at.get(name, 0), registry, max_accounts_per_run) for name, g in groups.items()
    ]


__all__ = ["dataset_run_tags", "every", "jobs_and_schedules", "refresh_job", "refresh_schedule"]
