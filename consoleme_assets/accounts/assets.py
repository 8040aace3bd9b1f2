"""`aws_accounts`: every AWS account ConsoleMe knows (ALL_AWS_ACCOUNTS), and the account partitions."""

from collections import Counter
from typing import Any

import dagster as dg

from ..aws.accounts import active_account_ids, discover_accounts
from ..lib.json_cache_asset import json_cache_asset
from ..lib.partitions import sync_account_partitions
from ..resources import ConsoleMeResource
from .datasets import AWS_ACCOUNTS

ACCOUNTS_GROUP = "accounts"


def accounts_preview(accounts: list[dict[str, Any]], limit: int = 50) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({"id": a["id"], "name": a["name"], "status": a["status"], "email": a.get("email") or ""})
            for a in accounts[:limit]
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in ("id", "name", "status", "email")]),
    )


@json_cache_asset(
    AWS_ACCOUNTS,
    ACCOUNTS_GROUP,
    {"aws", "redis", "s3"},
)
def aws_accounts(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dg.Output[dict[str, Any]]:
    """Every AWS account, from Organizations (`cache_cloud_accounts.from_aws_organizations`), else the
    static `account_ids_to_name`, else the account of our own credentials. Writes ALL_AWS_ACCOUNTS and its
    S3 copy, and makes the `aws_accounts` partitions equal the active accounts."""
    accounts, source = discover_accounts(consoleme.settings, consoleme.sessions)
    active = active_account_ids(accounts)
    added, removed = sync_account_partitions(context.instance, active)
    if added or removed:
        context.log.info(f"account partitions: added {added or 'none'}, removed {removed or 'none'}")
    statuses = Counter(a["status"] for a in accounts)
    return dg.Output(
        {"accounts": accounts},
        metadata={
            "dagster/row_count": len(accounts),
            "source": source,
            "active_accounts": len(active),
            "accounts_by_status": dg.MetadataValue.json(dict(statuses)),
            "partitions_added": dg.MetadataValue.json(added),
            "partitions_removed": dg.MetadataValue.json(removed),
            "preview": accounts_preview(accounts),
        },
    )
