"""CloudTrail's datasets: the denies drained from the queue into DynamoDB (`cloudtrail_denies`), and the error
counts per principal (`cloudtrail_errors_by_arn`, ConsoleMe's cache_cloudtrail_errors_by_arn), refreshed together.

ConsoleMe ran cache_cloudtrail_errors_by_arn hourly (only when cloudtrail denies were enabled; here always: with
nothing in the table it writes `{}`, which is what the policies table assumes when the key is absent). The hourly
run also materializes `cloudtrail_denies` (drains the queue when enabled, records "skipped" when not), so that
event-driven dataset stays fresh through quiet hours; `cloudtrail_denies_sensor` adds runs of the same job
whenever messages wait. The pool allows one drain at a time, so two runs never accumulate counts for the same
item at once.

As ConsoleMe's task did, the counting run also turns the errors into "cloudtrail_generated_policy" notifications
when `celery.cache_cloudtrail_denies.enabled` is on (cloudtrail/notify.py): written to consoleme_notifications,
and ALL_NOTIFICATIONS rebuilt.
"""

import time
from typing import Any

import dagster as dg

from ..lib.datasets import HOURLY, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import values_of
from ..stores.caches import JsonDocument
from .drain import drain_denies_queue
from .notify import publish_generated_notifications
from .plugins import CloudTrailErrorsContext, cloudtrail_errors_source
from .records import validate_counts

GROUP = "cloudtrail"
PREVIEW_ROWS = 20


def counts_preview(counts: dict[str, int], limit: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"arn": arn, "errors": n}) for arn, n in top],
        schema=dg.TableSchema(columns=[dg.TableColumn("arn", "string"), dg.TableColumn("errors", "int")]),
    )


def build_errors_by_arn(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    """`{principal_arn: error_count}` from the configured source (`consoleme_assets.plugins.cloudtrail_errors`;
    "default": the CloudTrail DynamoDB table, expired items left out). Written to CLOUDTRAIL_ERRORS_BY_ARN with
    ConsoleMe's 24 h expiry and no S3 copy; the policies table reads it for its `errors` column."""
    name = consoleme.settings.plugins.cloudtrail_errors
    source = cloudtrail_errors_source(name)
    plugin_context = CloudTrailErrorsContext(
        settings=consoleme.settings,
        sessions=consoleme.sessions,
        caches=consoleme.caches(),
        now=time.time(),
        log=context.log,
    )
    counts = validate_counts(source(plugin_context), name)
    metadata: dict[str, Any] = {
        "dagster/row_count": len(counts),
        "source": name,
        "total_errors": sum(counts.values()),
        "preview": counts_preview(counts),
    }
    for key, value in plugin_context.report.items():
        metadata[f"source_{key}"] = value if isinstance(value, (str, int, float)) else dg.MetadataValue.json(value)
    if consoleme.settings.cloudtrail_denies.enabled:
        metadata.update(publish_generated_notifications(context, consoleme))
    return Built(counts, metadata)


CLOUDTRAIL_DENIES = Dataset(
    name="cloudtrail_denies",
    description="CloudTrail errors from the denies queue (`event_bridge.detect_cloudtrail_denies_and_update_cache"
    ".queue_arn`) into DynamoDB consoleme_cloudtrail, counts accumulated per request id; rejected messages are "
    "logged and deleted. Launched by `cloudtrail_denies_sensor` when messages wait.",
    group=GROUP,
    kinds={"sqs", "dynamodb"},
    cadence=HOURLY,  # drained every minute when enabled (by the sensor); hourly keeps it fresh when quiet
    build=drain_denies_queue,
    job="cloudtrail_denies",
)
CLOUDTRAIL_ERRORS_BY_ARN = Dataset(
    name="cloudtrail_errors_by_arn",
    description="`{principal_arn: error_count}` from the configured source (`consoleme_assets.plugins.cloudtrail_"
    'errors`; "default": the CloudTrail DynamoDB table, expired items left out). Written to CLOUDTRAIL_ERRORS_BY_ARN '
    "with ConsoleMe's 24 h expiry and no S3 copy; the policies table reads it for its `errors` column.",
    group=GROUP,
    kinds={"dynamodb", "redis"},
    cadence=HOURLY,
    build=build_errors_by_arn,
    deps=("cloudtrail_denies",),
    job="cloudtrail_denies",
    consoleme_tasks=("cache_cloudtrail_errors_by_arn",),
    # ConsoleMe keeps no S3 copy of the CloudTrail error counts, and lets them expire after a day.
    storage=JsonDocument(lambda s: s.redis_keys.cloudtrail_errors_by_arn, None, expire_seconds=86400),
    shape=values_of("an int count", lambda v: isinstance(v, int) and not isinstance(v, bool)),
)
