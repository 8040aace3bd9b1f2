"""ConsoleMe refreshed the account list every hour (cache_cloud_account_mapping)."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import aws_accounts
from .datasets import AWS_ACCOUNTS

aws_accounts_job = dataset_job("aws_accounts_job", [aws_accounts])

aws_accounts_hourly = dataset_schedule("aws_accounts_hourly", aws_accounts_job, [AWS_ACCOUNTS])
