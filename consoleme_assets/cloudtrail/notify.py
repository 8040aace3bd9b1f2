"""Publishing the notifications generated from CloudTrail errors (ConsoleMe's cache_cloudtrail_errors_by_arn, spec
§5.22): the error rows of `consoleme_cloudtrail` and the owners in the IAM caches (never a live AWS call per
error) become `cloudtrail_generated_policy` items; the new and changed ones are written to
`consoleme_notifications`, and ALL_NOTIFICATIONS is rebuilt from the table at once, as ConsoleMe did (the
`notifications` dataset's own build, through its declared storage)."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg

from ..lib.resources import ConsoleMeResource
from ..notifications.datasets import NOTIFICATIONS, build_notifications
from .generated_notifications import (
    generate_notifications,
    notification_changes,
    owners_from_cache_entries,
    principal_arns,
)

KEY_NAMES = ["predictable_id"]


def publish_generated_notifications(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dict[str, Any]:
    """Generate, write what is new or changed, refresh ALL_NOTIFICATIONS; the metadata of what it did."""
    settings = consoleme.settings
    caches = consoleme.caches()
    keys = settings.redis_keys
    if caches.hash_size(keys.iam_roles) == 0:  # the owner is part of the id: no guessing while IAM refills
        context.log.warning(f"{keys.iam_roles} is empty: no notifications generated until iam_resources lands")
        return {"generated_notifications": dg.MetadataValue.text(f"skipped: {keys.iam_roles} is empty")}
    rows = caches.scan_table(settings.tables.cloudtrail)
    arns = principal_arns(rows)
    cached = {
        **caches.hash_values(keys.iam_roles, [a for a in arns if ":role/" in a]),
        **caches.hash_values(keys.iam_users, [a for a in arns if ":user/" in a]),
    }
    conf = settings.cloudtrail_notifications
    generated = generate_notifications(rows, owners_from_cache_entries(cached), conf, time.time())
    for skipped in generated.skipped:
        context.log.warning(f"CloudTrail error item {skipped.row}: {skipped.field}: {skipped.reason}; no notification")
    if conf.simulate_iam_principal_action:
        context.log.info("process_cloudtrail_errors.simulate_iam_principal_action is set: not simulated here")
    changes = notification_changes(generated, caches.scan_table(settings.tables.notifications))
    for problem in changes.problems:
        context.log.warning(f"DynamoDB table {settings.tables.notifications}: {problem}")
    if changes.to_write:
        caches.put_table_items(settings.tables.notifications, changes.to_write, KEY_NAMES)
        built = build_notifications(context, consoleme)
        caches.write_hash_document(NOTIFICATIONS.storage, built.value)
    return {
        "generated_notifications": dg.MetadataValue.json(
            {
                "new": len(changes.new),
                "changed": len(changes.changed),
                "unchanged": len(changes.unchanged),
                "nobody_to_notify": len(changes.untargeted),
                "rows_skipped": len(generated.skipped),
            }
        ),
        "generated_preview": dg.MetadataValue.json([i["predictable_id"] for i in changes.to_write[:20]]),
    }
