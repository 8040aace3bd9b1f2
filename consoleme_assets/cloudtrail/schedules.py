"""ConsoleMe ran cache_cloudtrail_errors_by_arn hourly (only when cloudtrail denies were enabled; here always:
with nothing in the table it writes `{}`, which is what the policies table assumes when the key is absent).

The hourly run also materializes `cloudtrail_denies` (drains the queue when enabled, records "skipped" when
not), so that event-driven asset stays fresh through quiet hours; `cloudtrail_denies_sensor` adds runs of the
same job whenever messages wait. The asset's pool allows one drain at a time, so two runs never accumulate counts
for the same item at once."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import cloudtrail_errors_by_arn
from .datasets import DATASETS
from .denies_asset import cloudtrail_denies

cloudtrail_errors_job = dataset_job("cloudtrail_errors_job", [cloudtrail_errors_by_arn])

# Launched by cloudtrail_denies_sensor: the queue into consoleme_cloudtrail, then the counts from the table.
cloudtrail_denies_job = dataset_job("cloudtrail_denies_job", [cloudtrail_denies, cloudtrail_errors_by_arn])

cloudtrail_errors_hourly = dataset_schedule("cloudtrail_errors_hourly", cloudtrail_denies_job, DATASETS)
