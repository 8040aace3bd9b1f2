"""`policy_requests`: every policy request, newest first (ConsoleMe cache_policy_requests -> ALL_POLICY_REQUESTS).
ConsoleMe's beat ran it every 5 minutes (its docs say hourly; the code says 5 minutes)."""

from collections import Counter
from typing import Any

import dagster as dg

from ..lib.datasets import EVERY_5_MINUTES, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import MAX_PROBLEMS, Shape, list_of
from ..stores.caches import JsonDocument
from .records import policy_requests_cache, principal_of

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


def policy_requests_problems(key: str, doc: Any) -> list[str]:
    return (
        list_of(key, doc)
        or [
            f"{key}[{i}]: field 'request_id' is missing"
            for i, r in enumerate(doc[:200])
            if not isinstance(r, dict) or "request_id" not in r
        ][:MAX_PROBLEMS]
    )


def build_requests(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    """v2 items are shown in v3 shape as ConsoleMe cached them. Read-only: the table is never written (ConsoleMe
    wrote its v3 conversion back)."""
    table = consoleme.settings.tables.policy_requests
    items = consoleme.caches().scan_table(table)
    requests = policy_requests_cache(items)
    versions = Counter(str(r.get("version", "1")) for r in requests)
    return Built(
        requests,
        {
            "dagster/row_count": len(requests),
            "table": table,
            "by_status": dg.MetadataValue.json(dict(Counter(str(r.get("status")) for r in requests))),
            "by_version": dg.MetadataValue.json(dict(versions)),
            "preview": requests_preview(requests),
        },
    )


POLICY_REQUESTS = Dataset(
    name="policy_requests",
    description="Every item of the policy requests table (`aws.policy_requests_dynamo_table`), v2 items shown in "
    "v3 shape as ConsoleMe cached them, newest first. Writes ALL_POLICY_REQUESTS and its S3 copy.",
    group="requests",
    kinds={"dynamodb", "redis", "s3"},
    cadence=EVERY_5_MINUTES,
    build=build_requests,
    consoleme_tasks=("cache_policy_requests",),
    storage=JsonDocument(lambda s: s.redis_keys.all_policy_requests, lambda s: s.s3.policy_requests),
    shape=Shape(policy_requests_problems),
)
