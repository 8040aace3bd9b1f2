"""Per-account datasets refresh every 45 minutes over all accounts, in one run."""


import dagster as dg

from ..partitions import aws_accounts_partitions
from .assets import managed_policies, s3_buckets, sns_topics, sqs_queues

# `*/45` fires at :00 and :45; these four crons give a true 45-minute cadence.
EVERY_45_MINUTES = ["0 0-21/3 * * *", "45 0-21/3 * * *", "30 1-22/3 * * *", "15 2-23/3 * * *"]

# ConsoleMe's four 45-minute account_resource_cache tasks; one run, one step per dataset, all accounts.
INVENTORY_ASSETS = [s3_buckets, managed_policies, sqs_queues, sns_topics]

inventory_job = dg.define_asset_job("inventory_job", selection=INVENTORY_ASSETS)


def all_accounts_run_request(context: dg.ScheduleEvaluationContext, dataset: str):
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


@dg.schedule(
    name="inventory_every_45_minutes",
    cron_schedule=EVERY_45_MINUTES,
    target=inventory_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def inventory_every_45_minutes(context: dg.ScheduleEvaluationContext):
    return all_accounts_run_request(context, "inventory")
