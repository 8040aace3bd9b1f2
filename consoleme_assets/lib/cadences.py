"""ConsoleMe's beat cadences as Dagster schedules, at the cadence the datasets declare (lib/datasets.py): every
per-account dataset refreshes all accounts in one run."""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from .concurrency import DATASET_TAG
from .datasets import Dataset, shared_cadence
from .partitions import aws_accounts_partitions


def cron_of(datasets: Sequence[Dataset]) -> str | list[str]:
    """The cron of the one schedule that refreshes `datasets` (they must declare the same cadence)."""
    cron = shared_cadence(datasets).cron
    return cron if isinstance(cron, str) else list(cron)


def dataset_job(name: str, assets: list[dg.AssetsDefinition], **kwargs: Any):
    """An asset job whose runs carry the run tag `consoleme_assets/dataset` = the datasets it refreshes, comma
    separated (for filtering runs in the UI; the one-at-a-time limit is the datasets' pools)."""
    names = sorted(k.to_user_string() for a in assets for k in a.keys)
    return dg.define_asset_job(name, selection=assets, tags={DATASET_TAG: ",".join(names)}, **kwargs)


def all_accounts_run_request(context: dg.ScheduleEvaluationContext):
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


def every_for_all_accounts(schedule_name: str, cron: str | list[str], job: Any) -> dg.ScheduleDefinition:
    """A schedule that runs a per-account `job` over every account partition, in one run."""

    @dg.schedule(
        name=schedule_name,
        cron_schedule=cron,
        target=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        return all_accounts_run_request(context)

    return _schedule


def dataset_schedule(
    schedule_name: str, job: Any, datasets: Sequence[Dataset], *, all_accounts: bool = False
) -> dg.ScheduleDefinition:
    """The schedule of the job refreshing `datasets`, at their declared cadence; per-account jobs
    (`all_accounts`) run over every account partition, in one run."""
    return (every_for_all_accounts if all_accounts else every)(schedule_name, cron_of(datasets), job)
