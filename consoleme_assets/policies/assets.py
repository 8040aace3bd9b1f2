"""`policies_table`: one row per role, user, bucket, topic, queue, customer managed policy and AWS Config
resource (ConsoleMe cache_policies_table_details -> ALL_POLICIES), for the web's policies page."""

import json
from collections import Counter
from typing import Any

import dagster as dg

from ..iam.records import allowed_to_sync_role
from ..lib.json_cache_asset import json_cache_asset
from ..resources import ConsoleMeResource
from ..settings import Settings
from ..stores.caches import ConsoleMeCaches
from .datasets import POLICIES_TABLE
from .table import HistoryUrls, TableInputs, build_policies_table

POLICIES_GROUP = "policies"
UPSTREAM = [
    "aws_accounts",
    "iam_resources",
    "s3_buckets",
    "sns_topics",
    "sqs_queues",
    "managed_policies",
    "aws_config_resources",
    "cloudtrail_errors_by_arn",
]


def _principals(caches: ConsoleMeCaches, key: str, settings: Settings, filter_roles: bool):
    rules = settings.role_filter
    check = filter_roles and bool(rules.allowed_arns or rules.allowed_tags or rules.allowed_tag_keys)
    for arn, entry in caches.iter_json_hash(key):
        if check and not allowed_to_sync_role(arn, json.loads(entry.get("policy") or "{}").get("Tags", []), rules):
            continue
        yield arn, entry.get("resourceId")


def gather_inputs(caches: ConsoleMeCaches, settings: Settings) -> TableInputs:
    """Read every source from the caches, honouring ConsoleMe's skip_* keys (a skipped source is not read)."""
    skip, keys = settings.policies_table, settings.redis_keys
    accounts = caches.read_json("aws_accounts") or {}
    names = {a["id"]: a["name"] for a in accounts.get("accounts", []) if a.get("status") == "active"}
    lists = lambda name, skipped: {} if skipped else caches.read_account_lists(name)  # noqa: E731
    config = (
        ()
        if skip.skip_aws_config_resources
        else (
            (arn, item.get("resourceType", ""), str(item.get("accountId", "")))
            for arn, item in caches.iter_json_hash(keys.aws_config_resources)
        )
    )
    return TableInputs(
        roles=() if skip.skip_iam_roles else list(_principals(caches, keys.iam_roles, settings, True)),
        users=() if skip.skip_iam_users else list(_principals(caches, keys.iam_users, settings, False)),
        s3_buckets=lists("s3_buckets", skip.skip_s3_buckets),
        sns_topics=lists("sns_topics", skip.skip_sns_topics),
        sqs_queues=lists("sqs_queues", skip.skip_sqs_queues),
        managed_policies=lists("managed_policies", skip.skip_managed_policies),
        config_resources=list(config),
        account_names=names,
        cloudtrail_errors=caches.get_json_key(keys.cloudtrail_errors_by_arn, {}),
        s3_errors=caches.get_json_key(keys.s3_errors, {}),
        templated=caches.read_hash(keys.templated_roles),
    )


def table_preview(rows: list[dict[str, Any]], limit: int = 25) -> dg.TableMetadataValue:
    cols = ["account_id", "account_name", "arn", "technology", "errors"]
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: str(r.get(c, "")) for c in cols}) for r in rows[:limit]],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in cols]),
    )


@json_cache_asset(
    POLICIES_TABLE,
    POLICIES_GROUP,
    {"pandas", "redis", "s3"},
    deps=UPSTREAM,
    description="ALL_POLICIES (Redis string, JSON list of rows) and its S3 copy, built with pandas from the "
    "cached roles, users, buckets, topics, queues, customer managed policies and AWS Config resources.",
)
def policies_table(consoleme: ConsoleMeResource) -> dg.Output[list[dict[str, Any]]]:
    settings = consoleme.settings
    urls = HistoryUrls(
        region=settings.region,
        conglomo_url=settings.policies_table.conglomo_url if settings.policies_table.generate_conglomo_url else None,
    )
    if settings.policies_table.generate_conglomo_url and not urls.conglomo_url:
        raise dg.Failure(
            "get_aws_config_history_url_for_resource.generate_conglomo_url is set but "
            "get_aws_config_history_url_for_resource.conglomo_url is not"
        )
    rows = build_policies_table(gather_inputs(consoleme.caches(), settings), urls)
    by_technology = Counter(r["technology"] for r in rows)
    return dg.Output(
        rows,
        metadata={
            "dagster/row_count": len(rows),
            "rows_by_technology": dg.MetadataValue.json(dict(sorted(by_technology.items()))),
            "preview": table_preview(rows),
        },
    )
