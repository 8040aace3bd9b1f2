import dagster as dg

from .assets import cloudtrail_errors_by_arn
from .schedules import cloudtrail_errors_hourly, cloudtrail_errors_job

defs = dg.Definitions(
    assets=[cloudtrail_errors_by_arn],
    jobs=[cloudtrail_errors_job],
    schedules=[cloudtrail_errors_hourly],
)
