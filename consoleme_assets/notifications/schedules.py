"""ConsoleMe ran cache_notifications only on demand (after a notification was written, and after
cache_cloudtrail_errors_by_arn). Without those triggers here, a schedule keeps ALL_NOTIFICATIONS in step with
the table and marks expired notifications; the web tier still refreshes it itself when it writes one."""

import dagster as dg

from ..lib.cadences import dataset_schedule
from .assets import notifications
from .datasets import NOTIFICATIONS

notifications_job = dg.define_asset_job("notifications_job", selection=[notifications])

notifications_every_10_minutes = dataset_schedule("notifications_every_10_minutes", notifications_job, [NOTIFICATIONS])
