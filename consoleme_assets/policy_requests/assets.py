"""`policy_requests`: every policy request, newest first (ConsoleMe cache_policy_requests -> ALL_POLICY_REQUESTS)."""

from collections import Counter
from typing import Any

import dagster as dg

from ..lib.json_cache_asset import json_cache_asset
from ..resources import ConsoleMeResource
from .datasets import POLICY_REQUESTS
from .records import policy_requests_cache, principal_of

REQUESTS_GROUP = "requests"
PREVIEW_ROWS = 20


def requests_preview(requests: list[dict[str, Any]], limit: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    columns = ("request_id", "request_time", "status", "username", "principal")
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "request_id": str(r.get("request_id", "")),
                    "request_time": str(r.get("request_time", "")),
                    "status": str(r.get("status", "")),
                    "username": str(r.get("username", "")),
                    "principal": principal_of(r),
                }
            )
            for r in requests[:limit]
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns]),
    )


@json_cache_asset(
    POLICY_REQUESTS,
    REQUESTS_GROUP,
    {"dynamodb", "redis", "s3"},
)
def policy_requests(consoleme: ConsoleMeResource) -> dg.Output[list[dict[str, Any]]]:
    """Every item of the policy requests table (`aws.policy_requests_dynamo_table`), v2 items shown in v3
    shape as ConsoleMe cached them, newest first. Writes ALL_POLICY_REQUESTS and its S3 copy. Read-only: the
    table is never written (ConsoleMe wrote its v3 conversion back)."""
    table = consoleme.settings.tables.policy_requests
    items = consoleme.caches().scan_table(table)
    requests = policy_requests_cache(items)
    versions = Counter(str(r.get("version", "1")) for r in requests)
    return dg.Output(
        requests,
        metadata={
            "dagster/row_count": len(requests),
            "table": table,
            "by_status": dg.MetadataValue.json(dict(Counter(str(r.get("status")) for r in requests))),
            "by_version": dg.MetadataValue.json(dict(versions)),
            "preview": requests_preview(requests),
        },
    )
