"""ConsoleMe refreshed the account list every hour (cache_cloud_account_mapping)."""

from ..lib.cadences import dataset_job, every

from .assets import aws_accounts

aws_accounts_job = dataset_job("aws_accounts_job", [aws_accounts])

aws_accounts_hourly = every("aws_accounts_hourly", "0 * * * *", aws_accounts_job)
