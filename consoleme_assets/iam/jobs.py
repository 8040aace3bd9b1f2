"""Re-read one role on demand (ConsoleMe's refresh_iam_role), e.g. after an edit in the console."""

import datetime as dt

import dagster as dg

from ..aws.iam import role_detail
from ..io_managers.iam import IamResourcesIOManager
from ..resources import ConsoleMeResource
from ..settings import normalize_account_id
from ..stores.iam_cache import ROLE_KEY_NAMES, IamCache
from . import records


class RefreshRoleConfig(dg.Config):
    role_arn: str  # arn:aws:iam::<account>:role/<path/><name>


def parse_role_arn(arn: str) -> tuple[str, str]:
    """(account id, role name) from a role ARN; a clear error for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ValueError(f"role_arn {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return normalize_account_id(parts[4], f"account id in role_arn {arn!r}"), parts[5].rsplit("/", 1)[-1]


@dg.op(
    description="Re-reads one IAM role from AWS and updates its IAM_ROLE_CACHE entry and DynamoDB item; a role "
    "that no longer exists is removed from both.",
    pool="aws_api",
)
def refresh_iam_role(
    context: dg.OpExecutionContext,
    config: RefreshRoleConfig,
    consoleme: ConsoleMeResource,
    iam_resources_io_manager: dg.ResourceParam[IamResourcesIOManager],
) -> dg.Output[None]:
    account_id, role_name = parse_role_arn(config.role_arn)
    settings = consoleme.settings
    cache: IamCache = iam_resources_io_manager.cache()
    detail = role_detail(consoleme.sessions, account_id, role_name)
    key = cache.redis_key("roles")
    table = settings.tables.iam_roles
    problems = records.detail_problems("roles", detail, account_id) if detail is not None else []
    if problems:  # the cached entry and item stay as they were (last good), as in iam_resources
        raise dg.Failure(description=f"account {account_id}: role {config.role_arn} rejected: "
                         f"{'; '.join(problems)}; its cached entry is kept")
    if detail is not None and not records.allowed_to_sync_role(
        detail["Arn"], records.tags_of(detail), settings.role_filter
    ):
        context.log.info(f"{config.role_arn} is excluded by the roles.allowed_* filter")
        detail = None
    if detail is None:
        cache.caches.redis.delete_account_field(key, account_id, config.role_arn)
        if cache.caches.dynamo is not None:
            cache.caches.dynamo.delete_items(table, [{"arn": config.role_arn, "accountId": account_id}], ROLE_KEY_NAMES)
        context.log.info(f"{config.role_arn} is gone (or filtered out): removed from {key} and {table}")
        return dg.Output(None, metadata={"role_arn": config.role_arn, "action": "removed"})
    arn = detail["Arn"]
    entry = records.role_entry(
        detail, account_id, records.ttl_from(dt.datetime.now(dt.timezone.utc)), settings.owner_tags,
        cache.templated([arn]).get(arn),
    )
    if cache.caches.dynamo is not None:
        cache.caches.dynamo.put_items(table, [entry], ROLE_KEY_NAMES)
    cache.caches.redis.set_account_field(key, account_id, arn, entry)
    return dg.Output(None, metadata={"role_arn": arn, "action": "updated", "owner": entry["owner"] or ""})


@dg.job(description="Refresh one IAM role in IAM_ROLE_CACHE and DynamoDB. Config: ops.refresh_iam_role.config.role_arn")
def refresh_iam_role_job():
    refresh_iam_role()
