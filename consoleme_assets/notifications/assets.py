"""`notifications`: DynamoDB consoleme_notifications -> hash ALL_NOTIFICATIONS + S3 (ConsoleMe's
cache_notifications, spec §5.23).

Fixed: ConsoleMe merged into the hash (HMSET), so a user or group no longer notified kept its last list
forever, and an empty table left the hash as it was; here the hash is replaced in one transaction (stale fields
deleted). Only notifications that newly passed their expiration are written back with `expired: true`
(ConsoleMe rewrote every expired one on every run).
"""

import time

import dagster as dg

from ..resources import ConsoleMeResource
from .datasets import NOTIFICATIONS
from .records import group_notifications

NOTIFICATIONS_GROUP = "notifications"


@dg.asset(
    name="notifications",
    group_name=NOTIFICATIONS_GROUP,
    kinds={"dynamodb", "redis", "s3"},
    pool=NOTIFICATIONS.pool,
    description="ALL_NOTIFICATIONS (field = user or group, value = JSON list of notifications) and "
    "notifications/all_notifications_v1.json.gz from consoleme_notifications; expired ones marked in the table.",
)
def notifications(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dg.MaterializeResult:
    settings = consoleme.settings
    caches = consoleme.caches()
    table = settings.tables.notifications
    grouped = group_notifications(caches.scan_table(table), time.time())
    for problem in grouped.problems:
        context.log.warning(f"DynamoDB table {table}: skipped {problem}")
    if grouped.newly_expired:
        caches.put_table_items(table, grouped.newly_expired, ["predictable_id"])
    report = caches.write_notifications(grouped.by_user_or_group)
    metadata = {
        "dagster/row_count": grouped.notifications,
        "table": table,
        "users_or_groups": len(grouped.by_user_or_group),
        "newly_expired": len(grouped.newly_expired),
        "items_skipped": dg.MetadataValue.json(grouped.problems[:50]),
        "redis_keys": dg.MetadataValue.json(report.redis_keys),
        "bytes_written": report.bytes_written,
        "notes": "; ".join(report.notes),
    }
    if report.s3_uris:
        metadata["s3_uris"] = dg.MetadataValue.json(report.s3_uris)
    return dg.MaterializeResult(metadata=metadata)
