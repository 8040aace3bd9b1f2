"""ConsoleMe refreshed AWS Config resources every hour, all accounts at once."""

from ..lib.cadences import dataset_job, every_for_all_accounts
from .assets import aws_config_resources

aws_config_job = dataset_job("aws_config_job", [aws_config_resources])

# :10, not :00: aws_accounts_hourly runs at :00, so new accounts have their partition by then.
aws_config_hourly = every_for_all_accounts("aws_config_hourly", "10 * * * *", aws_config_job)
