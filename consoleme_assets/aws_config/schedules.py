"""ConsoleMe refreshed AWS Config resources every hour, all accounts at once."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import aws_config_resources
from .datasets import AWS_CONFIG_RESOURCES

aws_config_job = dataset_job("aws_config_job", [aws_config_resources])

aws_config_hourly = dataset_schedule("aws_config_hourly", aws_config_job, [AWS_CONFIG_RESOURCES], all_accounts=True)
