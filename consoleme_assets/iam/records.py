"""From IAM's answers to ConsoleMe's cache entries (spec §6.1). Pure functions: no AWS, no Redis."""

import datetime as dt
import json
from typing import Any

from ..settings.model import RoleFilter

TTL = dt.timedelta(hours=36)


def _iso_z(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def detail_json(detail: dict[str, Any]) -> str:
    """The entry's `policy` field: the IAM detail as a JSON string, datetimes as ISO with Z."""
    return json.dumps(detail, default=_iso_z)


def ttl_from(now: dt.datetime) -> int:
    """Write time + 36 h as epoch seconds, computed in UTC (ConsoleMe used the host's timezone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int((now + TTL).timestamp())


def tags_of(detail: dict[str, Any]) -> list[dict[str, str]]:
    return detail.get("Tags") or []


def allowed_to_sync_role(arn: str, tags: list[dict[str, str]], rules: RoleFilter) -> bool:
    """ConsoleMe's role filter: everything unless rules exist; then a listed ARN, any allowed tag key, or
    every allowed tag pair."""
    if not (rules.allowed_tags or rules.allowed_arns or rules.allowed_tag_keys):
        return True
    if arn in rules.allowed_arns:
        return True
    keys = {t["Key"] for t in tags}
    if rules.allowed_tag_keys and keys & set(rules.allowed_tag_keys):
        return True
    actual = {t["Key"]: t["Value"] for t in tags}
    return bool(rules.allowed_tags) and rules.allowed_tags.items() <= actual.items()


def principal_owner(tags: list[dict[str, str]], owner_tag_keys: list[str]) -> str | None:
    """The value of the first configured owner tag key present (keys tried in configured order)."""
    by_key = {t["Key"]: t["Value"] for t in tags}
    for key in owner_tag_keys:
        if key in by_key:
            return by_key[key]
    return None


def role_entry(detail: dict[str, Any], account_id: str, ttl: int, owner_keys: list[str], templated: str | None):
    return {
        "arn": detail["Arn"],
        "name": detail.get("RoleName") or detail["Arn"].split("/")[-1],
        "resourceId": detail.get("RoleId"),
        "accountId": account_id,
        "ttl": ttl,
        "owner": principal_owner(tags_of(detail), owner_keys),
        "policy": detail_json(detail),
        "templated": templated,
    }


def user_entry(detail: dict[str, Any], account_id: str, ttl: int, owner_keys: list[str]) -> dict[str, Any]:
    return {
        "arn": detail["Arn"],
        "name": detail.get("UserName"),
        "resourceId": detail.get("UserId"),
        "accountId": account_id,
        "ttl": ttl,
        "owner": principal_owner(tags_of(detail), owner_keys),
        "policy": detail_json(detail),
        "templated": False,
    }


def group_entry(detail: dict[str, Any], account_id: str, ttl: int) -> dict[str, Any]:
    return {
        "arn": detail["Arn"],
        "name": detail.get("GroupName"),
        "resourceId": detail.get("GroupId"),
        "accountId": account_id,
        "ttl": ttl,
        "policy": detail_json(detail),
        "templated": False,
    }


def policy_entry(detail: dict[str, Any], account_id: str, ttl: int) -> dict[str, Any]:
    return {
        "arn": detail["Arn"],
        "name": detail.get("PolicyName"),
        "resourceId": detail.get("PolicyId"),
        "accountId": account_id,
        "ttl": ttl,
        "policy": detail_json(detail),
        "templated": False,
    }
