"""ConsoleMe ran cache_cloudtrail_errors_by_arn hourly (only when cloudtrail denies were enabled; here always:
with nothing in the table it writes `{}`, which is what the policies table assumes when the key is absent)."""

from ..cadences import dataset_job, every

from .assets import cloudtrail_errors_by_arn

cloudtrail_errors_job = dataset_job("cloudtrail_errors_job", [cloudtrail_errors_by_arn])

cloudtrail_errors_hourly = every("cloudtrail_errors_hourly", "0 * * * *", cloudtrail_errors_job)
