"""`policies_table`: one row per role, user, bucket, topic, queue, customer managed policy and AWS Config
resource (ConsoleMe cache_policies_table_details -> ALL_POLICIES), for the web's policies page; rebuilt every
30 minutes as ConsoleMe did."""

import json
from collections import Counter
from typing import Any

import dagster as dg

from ..accounts.datasets import AWS_ACCOUNTS
from ..aws_config.datasets import AWS_CONFIG_RESOURCES
from ..cloudtrail.datasets import CLOUDTRAIL_ERRORS_BY_ARN
from ..iam.datasets import IAM_RESOURCES
from ..iam.records import allowed_to_sync_role
from ..inventory.datasets import MANAGED_POLICIES, S3_BUCKETS, SNS_TOPICS, SQS_QUEUES
from ..lib.datasets import EVERY_30_MINUTES, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import ANY_TEMPLATED, INT, MAX_PROBLEMS, STR, Shape, fields_problems, list_of
from ..settings import Settings
from ..stores.caches import ConsoleMeCaches, JsonDocument
from .table import HistoryUrls, TableInputs, build_policies_table

UPSTREAM = (
    AWS_ACCOUNTS,
    IAM_RESOURCES,
    S3_BUCKETS,
    SNS_TOPICS,
    SQS_QUEUES,
    MANAGED_POLICIES,
    AWS_CONFIG_RESOURCES,
    CLOUDTRAIL_ERRORS_BY_ARN,
)
ROW_FIELDS = {
    "account_id": STR,
    "account_name": STR,
    "arn": STR,
    "technology": STR,
    "templated": ANY_TEMPLATED,
    "errors": INT,
}


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
    accounts = caches.read_json(AWS_ACCOUNTS.storage) or {}
    names = {a["id"]: a["name"] for a in accounts.get("accounts", []) if a.get("status") == "active"}
    lists = lambda dataset, skipped: {} if skipped else caches.read_account_lists(dataset.storage)  # noqa: E731
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
        s3_buckets=lists(S3_BUCKETS, skip.skip_s3_buckets),
        sns_topics=lists(SNS_TOPICS, skip.skip_sns_topics),
        sqs_queues=lists(SQS_QUEUES, skip.skip_sqs_queues),
        managed_policies=lists(MANAGED_POLICIES, skip.skip_managed_policies),
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


def policy_rows_problems(key: str, doc: Any) -> list[str]:
    out = list_of(key, doc)
    for i, row in enumerate(doc[:200] if not out else []):
        out += fields_problems(f"{key}[{i}]", row, ROW_FIELDS)
    return out[:MAX_PROBLEMS]


def build_table(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
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
    return Built(
        rows,
        {
            "dagster/row_count": len(rows),
            "rows_by_technology": dg.MetadataValue.json(dict(sorted(by_technology.items()))),
            "preview": table_preview(rows),
        },
    )


POLICIES_TABLE = Dataset(
    name="policies_table",
    description="ALL_POLICIES (Redis string, JSON list of rows) and its S3 copy, built with pandas from the "
    "cached roles, users, buckets, topics, queues, customer managed policies and AWS Config resources.",
    group="policies",
    kinds={"pandas", "redis", "s3"},
    cadence=EVERY_30_MINUTES,
    build=build_table,
    deps=tuple(d.name for d in UPSTREAM),
    consoleme_tasks=("cache_policies_table_details",),
    storage=JsonDocument(lambda s: s.redis_keys.all_policies, lambda s: s.s3.policies_table),
    shape=Shape(policy_rows_problems),
)
