"""ConsoleMe refreshed the account list every hour (cache_cloud_account_mapping)."""

import dagster as dg

from .assets import aws_accounts

aws_accounts_job = dg.define_asset_job("aws_accounts_job", selection=[aws_accounts])

aws_accounts_hourly = dg.ScheduleDefinition(
    name="aws_accounts_hourly",
    cron_schedule="0 * * * *",
    target=aws_accounts_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
