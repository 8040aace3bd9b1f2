"""ConsoleMe refreshed the account list every hour (cache_cloud_account_mapping)."""

import dagster as dg

from ..cadences import every

from .assets import aws_accounts

aws_accounts_job = dg.define_asset_job("aws_accounts_job", selection=[aws_accounts])

aws_accounts_hourly = every("aws_accounts_hourly", "0 * * * *", aws_accounts_job)
