"""IAM's datasets: the roles, users, groups and policies of every account (`iam_resources`), and the role quota
usage (`iam_role_limits`)."""

from __future__ import annotations

from collections.abc import Iterable

from ..lib.datasets import EVERY_45_MINUTES, Dataset, daily_at
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import ANY_TEMPLATED, INT, MAX_PROBLEMS, OPT_STR, STR, Shape, decode, fields_problems
from ..stores.iam_cache import IamCache
from .limits import read_role_limits
from .refresh import refresh_iam_resources
from .storage import IAM_STORAGE

RECORD_KINDS = {"roles": "role", "users": "user", "groups": "group", "policies": "policy"}


def iam_cache(consoleme: ConsoleMeResource) -> IamCache:
    """IAM's stores for this run. A new one per call: it holds a per-call scan of the role table (replicas)."""
    return IamCache(consoleme.caches(), IAM_STORAGE)


# spec §6.1: what each IAM hash entry carries, and the type of each field.
_COMMON = {"arn": STR, "name": OPT_STR, "resourceId": OPT_STR, "accountId": STR, "ttl": INT}
IAM_ENTRY_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "roles": {**_COMMON, "name": STR, "owner": OPT_STR, "policy": STR, "templated": ANY_TEMPLATED},
    "users": {**_COMMON, "owner": OPT_STR, "policy": STR, "templated": ANY_TEMPLATED},
    "groups": {**_COMMON, "policy": STR, "templated": ANY_TEMPLATED},
    "policies": {**_COMMON, "policy": STR, "templated": ANY_TEMPLATED},
}


def iam_entries_problems(key: str, kind: str, sample: Iterable[tuple[str, str]]) -> list[str]:
    """`sample`: (field, raw value) pairs of an IAM hash (field = ARN)."""
    out: list[str] = []
    for arn, raw in sample:
        where = f"{key}[{arn}]"
        value, errs = decode(where, raw)
        out += errs or fields_problems(where, value, IAM_ENTRY_FIELDS[kind])
        if not errs and isinstance(value, dict):
            if value.get("arn") not in (None, arn):
                out.append(f"{where}: field 'arn' is {value.get('arn')!r}, not the hash field")
            if isinstance(value.get("policy"), str) and decode(where, value["policy"])[1]:
                out.append(f"{where}: field 'policy' is not a JSON string")
        if len(out) >= MAX_PROBLEMS:
            break
    return out[:MAX_PROBLEMS]


IAM_RESOURCES = Dataset(
    name="iam_resources",
    description="IAM roles, users, groups and managed policies of each account (GetAccountAuthorizationDetails "
    "through the spoke role) -> Redis hashes IAM_ROLE_CACHE / IAM_USER_CACHE / IAM_GROUP_CACHE / IAM_POLICY_CACHE "
    "(field = ARN), DynamoDB consoleme_iamroles_global, and the per-account and combined S3 files.",
    group="iam",
    kinds={"aws", "redis", "s3", "dynamodb"},
    cadence=EVERY_45_MINUTES,
    refresh=lambda context, consoleme, publisher: refresh_iam_resources(
        context, consoleme, iam_cache(consoleme), publisher, RECORD_KINDS
    ),
    record_kind=RECORD_KINDS,
    job="iam",
    consoleme_tasks=("cache_iam_resources_across_accounts", "cache_iam_resources_for_account"),
    storage=IAM_STORAGE,
    shape=Shape(iam_entries_problems),
    not_empty_because="every account has roles (at least the spoke role)",
    coverage="every active account has its roles (and the users, groups and policies its last refresh found) in "
    "the ARN-keyed IAM hashes",
)

IAM_ROLE_LIMITS = Dataset(
    name="iam_role_limits",
    description="IAM GetAccountSummary per active account: roles / RolesQuota. No cache is written; the "
    "ratios are in the metadata and checked by iam_role_limits_within_quota.",
    group="iam",
    kinds={"aws"},
    cadence=daily_at(6),
    build=read_role_limits,
    deps=("aws_accounts",),
    consoleme_tasks=("get_iam_role_limit",),
)
