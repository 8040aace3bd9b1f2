import dagster as dg

from .assets import aws_accounts
from .schedules import aws_accounts_hourly, aws_accounts_job
from .sensors import aws_account_discovery_sensor

defs = dg.Definitions(
    assets=[aws_accounts],
    jobs=[aws_accounts_job],
    schedules=[aws_accounts_hourly],
    sensors=[aws_account_discovery_sensor],
)
