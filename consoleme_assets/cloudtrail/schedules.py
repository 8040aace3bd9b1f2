"""ConsoleMe ran cache_cloudtrail_errors_by_arn hourly (only when cloudtrail denies were enabled; here always:
with nothing in the table it writes `{}`, which is what the policies table assumes when the key is absent).

The hourly run also materializes `cloudtrail_denies` (drains the queue when enabled, records "skipped" when
not), so that event-driven asset stays fresh through quiet hours; `cloudtrail_denies_sensor` adds runs of the
same job whenever messages wait. Both carry one dataset run tag: one drain at a time, so two runs never
accumulate counts for the same item at once."""

import dagster as dg

from ..cadences import every

from .assets import cloudtrail_errors_by_arn
from .denies_asset import cloudtrail_denies

cloudtrail_errors_job = dg.define_asset_job("cloudtrail_errors_job", selection=[cloudtrail_errors_by_arn])

# Launched by cloudtrail_denies_sensor: the queue into consoleme_cloudtrail, then the counts from the table.
DENIES_RUN_TAGS = {"consoleme_assets/dataset": "cloudtrail_denies"}
cloudtrail_denies_job = dg.define_asset_job(
    "cloudtrail_denies_job", selection=[cloudtrail_denies, cloudtrail_errors_by_arn], tags=DENIES_RUN_TAGS
)

cloudtrail_errors_hourly = every("cloudtrail_errors_hourly", "0 * * * *", cloudtrail_denies_job)
