"""The account list: ALL_AWS_ACCOUNTS, refreshed hourly as ConsoleMe did (cache_cloud_account_mapping), and the
account partitions every per-account dataset shares."""

from collections import Counter
from typing import Any

import dagster as dg

from ..aws.accounts import active_account_ids, discover_accounts
from ..lib.datasets import HOURLY, Built, Dataset
from ..lib.partitions import sync_account_partitions
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import MAX_PROBLEMS, STR, Shape, fields_problems
from .storage import ACCOUNTS_STORAGE

ACCOUNT_FIELDS = {"id": STR, "name": STR, "status": STR, "type": STR, "sync_enabled": (bool,)}


def accounts_document_problems(key: str, doc: Any) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("accounts"), list):
        return [f'{key}: expected {{"accounts": [...]}}']
    out = []
    for i, account in enumerate(doc["accounts"]):
        out += fields_problems(f"{key}.accounts[{i}]", account, ACCOUNT_FIELDS)
    return out[:MAX_PROBLEMS]


def accounts_preview(accounts: list[dict[str, Any]], limit: int = 50) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({"id": a["id"], "name": a["name"], "status": a["status"], "email": a.get("email") or ""})
            for a in accounts[:limit]
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in ("id", "name", "status", "email")]),
    )


def build_aws_accounts(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    """Every AWS account, from Organizations (`cache_cloud_accounts.from_aws_organizations`), else the static
    `account_ids_to_name`, else the account of our own credentials; the `aws_accounts` partitions are made
    equal to the active accounts."""
    accounts, source = discover_accounts(consoleme.settings, consoleme.sessions)
    active = active_account_ids(accounts)
    added, removed = sync_account_partitions(context.instance, active)
    if added or removed:
        context.log.info(f"account partitions: added {added or 'none'}, removed {removed or 'none'}")
    statuses = Counter(a["status"] for a in accounts)
    return Built(
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


AWS_ACCOUNTS = Dataset(
    name="aws_accounts",
    description="Every AWS account, from Organizations (`cache_cloud_accounts.from_aws_organizations`), else the "
    "static `account_ids_to_name`, else the account of our own credentials. Writes ALL_AWS_ACCOUNTS and its S3 "
    "copy, and makes the `aws_accounts` partitions equal the active accounts.",
    group="accounts",
    kinds={"aws", "redis", "s3"},
    cadence=HOURLY,
    build=build_aws_accounts,
    partitions_source=True,
    consoleme_tasks=("cache_cloud_account_mapping",),
    storage=ACCOUNTS_STORAGE,
    shape=Shape(accounts_document_problems, entries=lambda doc: len(doc.get("accounts", []))),
    not_empty_because="an organization has at least one account",
)
