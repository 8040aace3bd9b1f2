"""`cloudtrail_errors_by_arn`: CloudTrail error counts per IAM principal (ConsoleMe cache_cloudtrail_errors_by_arn).

ConsoleMe's task also generated "cloudtrail_generated_policy" notifications (consoleme_notifications,
ALL_NOTIFICATIONS). That is out of scope here: this asset only counts; the `notifications` asset caches
whatever notifications the table holds.
"""

import time
from typing import Any

import dagster as dg

from ..lib.json_cache_asset import json_cache_asset
from ..resources import ConsoleMeResource
from .datasets import CLOUDTRAIL_ERRORS_BY_ARN
from .denies_asset import cloudtrail_denies
from .plugins import CloudTrailErrorsContext, cloudtrail_errors_source
from .records import validate_counts

CLOUDTRAIL_GROUP = "cloudtrail"
PREVIEW_ROWS = 20


def counts_preview(counts: dict[str, int], limit: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"arn": arn, "errors": n}) for arn, n in top],
        schema=dg.TableSchema(columns=[dg.TableColumn("arn", "string"), dg.TableColumn("errors", "int")]),
    )


@json_cache_asset(
    CLOUDTRAIL_ERRORS_BY_ARN,
    CLOUDTRAIL_GROUP,
    {"dynamodb", "redis"},
    deps=[cloudtrail_denies],
)
def cloudtrail_errors_by_arn(
    context: dg.AssetExecutionContext, consoleme: ConsoleMeResource
) -> dg.Output[dict[str, int]]:
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
    return dg.Output(counts, metadata=metadata)
