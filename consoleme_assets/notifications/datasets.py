"""`notifications`: DynamoDB consoleme_notifications -> hash ALL_NOTIFICATIONS + S3 (ConsoleMe's
cache_notifications, spec §5.23). ConsoleMe ran it only on demand (after a notification was written, and after
cache_cloudtrail_errors_by_arn); without those triggers here, a schedule keeps ALL_NOTIFICATIONS in step with the
table every 10 minutes and marks expired notifications; the web tier still refreshes it itself when it writes one.

Fixed: ConsoleMe merged into the hash (HMSET), so a user or group no longer notified kept its last list
forever, and an empty table left the hash as it was; here the hash is replaced in one transaction (stale fields
deleted). Only notifications that newly passed their expiration are written back with `expired: true`
(ConsoleMe rewrote every expired one on every run).
"""

import time

import dagster as dg

from ..lib.datasets import EVERY_10_MINUTES, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..stores.caches import HashDocument
from .records import group_notifications


def build_notifications(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    settings = consoleme.settings
    caches = consoleme.caches()
    table = settings.tables.notifications
    grouped = group_notifications(caches.scan_table(table), time.time())
    for problem in grouped.problems:
        context.log.warning(f"DynamoDB table {table}: skipped {problem}")
    if grouped.newly_expired:
        caches.put_table_items(table, grouped.newly_expired, ["predictable_id"])
    return Built(
        grouped.by_user_or_group,
        {
            "dagster/row_count": grouped.notifications,
            "table": table,
            "users_or_groups": len(grouped.by_user_or_group),
            "newly_expired": len(grouped.newly_expired),
            "items_skipped": dg.MetadataValue.json(grouped.problems[:50]),
        },
    )


NOTIFICATIONS = Dataset(
    name="notifications",
    description="ALL_NOTIFICATIONS (field = user or group, value = JSON list of notifications) and "
    "notifications/all_notifications_v1.json.gz from consoleme_notifications; expired ones marked in the table.",
    group="notifications",
    kinds={"dynamodb", "redis", "s3"},
    cadence=EVERY_10_MINUTES,
    build=build_notifications,
    storage=HashDocument(lambda s: s.redis_keys.all_notifications, lambda s: s.s3.notifications),
)
