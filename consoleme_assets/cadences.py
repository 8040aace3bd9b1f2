"""ConsoleMe's beat cadences as Dagster schedules: every per-account dataset refreshes all accounts in one run."""

import dagster as dg

from .partitions import aws_accounts_partitions

# `*/45` fires at :00 and :45; these four crons give a true 45-minute cadence.
EVERY_45_MINUTES = ["0 0-21/3 * * *", "45 0-21/3 * * *", "30 1-22/3 * * *", "15 2-23/3 * * *"]


def all_accounts_run_request(context: dg.ScheduleEvaluationContext, dataset: str):
    """One run over every account partition (range tags), tagged with the dataset so only one runs at a time."""
    keys = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    if not keys:
        return dg.SkipReason("no account partitions yet: materialize aws_accounts first")
    return dg.RunRequest(
        run_key=None,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
            "consoleme_assets/dataset": dataset,
        },
    )
