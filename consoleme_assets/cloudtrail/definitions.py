import dagster as dg

from .assets import cloudtrail_errors_by_arn
from .denies_asset import cloudtrail_denies
from .schedules import cloudtrail_denies_job, cloudtrail_errors_hourly, cloudtrail_errors_job
from .sensors import cloudtrail_denies_sensor

defs = dg.Definitions(
    assets=[cloudtrail_denies, cloudtrail_errors_by_arn],
    jobs=[cloudtrail_errors_job, cloudtrail_denies_job],
    schedules=[cloudtrail_errors_hourly],
    sensors=[cloudtrail_denies_sensor],
)
