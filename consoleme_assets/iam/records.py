"""From IAM's answers to ConsoleMe's cache entries (spec §6.1). Pure functions: no AWS, no Redis."""

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote

from ..aws.arns import AWS_MANAGED_ACCOUNT, NotAnArn, parse_arn
from ..settings.model import RoleFilter

TTL = dt.timedelta(hours=36)


def _iso_z(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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


def _entry_head(detail: dict[str, Any], account_id: str, ttl: int, kind: str) -> dict[str, Any]:
    """The fields every IAM cache entry starts with, in ConsoleMe's order; `kind` is "Role", "User", "Group" or
    "Policy" (IAM's `<kind>Name` / `<kind>Id` fields)."""
    name = detail.get(f"{kind}Name")
    if kind == "Role":
        name = name or detail["Arn"].split("/")[-1]
    return {
        "arn": detail["Arn"],
        "name": name,
        "resourceId": detail.get(f"{kind}Id"),
        "accountId": account_id,
        "ttl": ttl,
    }


def role_entry(detail: dict[str, Any], account_id: str, ttl: int, owner_keys: list[str], templated: str | None):
    return {
        **_entry_head(detail, account_id, ttl, "Role"),
        "owner": principal_owner(tags_of(detail), owner_keys),
        "policy": detail_json(detail),
        "templated": templated,
    }


_NOT_IN_REFRESHED_POLICY = ("RoleName", "RoleId", "MaxSessionDuration", "_version")


def refreshed_role_entry(detail: dict[str, Any], account_id: str, ttl: int, templated: str | None) -> dict[str, Any]:
    """The entry ConsoleMe's refresh_iam_role writes (spec §5.20), unlike the GAAD path's `role_entry`: a
    `permissions_boundary` field (the role's PermissionsBoundary, {} without one), no `owner`, and a `policy`
    without RoleName/RoleId/MaxSessionDuration (which go to `name`/`resourceId`)."""
    policy = {k: v for k, v in detail.items() if k not in _NOT_IN_REFRESHED_POLICY}
    return {
        **_entry_head(detail, account_id, ttl, "Role"),
        "policy": detail_json(policy),
        "permissions_boundary": detail.get("PermissionsBoundary") or {},
        "templated": templated,
    }


def history_view(entry: Any) -> Any:
    """What a role's change history compares: the entry with its `policy` decoded, without what only one of
    ConsoleMe's two role formats carries (`owner`, `permissions_boundary`, RoleName/RoleId/MaxSessionDuration in
    the policy, all copies of other fields; GetRole's Description) and without the ttl, so a role written by `refresh_iam_role` and then
    by the account refresh shows no change unless IAM's role did."""
    value = json.loads(entry) if isinstance(entry, str) else entry
    if not isinstance(value, dict):
        return value
    policy = value.get("policy")
    try:
        policy = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        pass
    if isinstance(policy, dict):  # GetRole's Description is not in GetAccountAuthorizationDetails' answer
        policy = {k: v for k, v in policy.items() if k not in _NOT_IN_REFRESHED_POLICY and k != "Description"}
    dropped = ("ttl", "owner", "permissions_boundary")
    return {**{k: v for k, v in value.items() if k not in dropped}, "policy": policy}


def user_entry(detail: dict[str, Any], account_id: str, ttl: int, owner_keys: list[str]) -> dict[str, Any]:
    return {
        **_entry_head(detail, account_id, ttl, "User"),
        "owner": principal_owner(tags_of(detail), owner_keys),
        "policy": detail_json(detail),
        "templated": False,
    }


def group_entry(detail: dict[str, Any], account_id: str, ttl: int) -> dict[str, Any]:
    return {**_entry_head(detail, account_id, ttl, "Group"), "policy": detail_json(detail), "templated": False}


def policy_entry(detail: dict[str, Any], account_id: str, ttl: int) -> dict[str, Any]:
    return {**_entry_head(detail, account_id, ttl, "Policy"), "policy": detail_json(detail), "templated": False}


# -- hostile data: what ConsoleMe's readers could not use -----------------------------------------

# Where each kind of GAAD detail holds policy documents: (list field or None, document field).
_DOCUMENTS = {
    "roles": ((None, "AssumeRolePolicyDocument"), ("RolePolicyList", "PolicyDocument")),
    "users": (("UserPolicyList", "PolicyDocument"),),
    "groups": (("GroupPolicyList", "PolicyDocument"),),
    "policies": (("PolicyVersionList", "Document"),),
}


def _document_problem(where: str, doc: Any) -> str | None:
    """Botocore URL-decodes and JSON-parses every policy document; one still a string did not parse, and
    ConsoleMe's role model (`assume_role_policy_document: Dict`) and policy editor need an object."""
    if doc is None or isinstance(doc, dict):
        return None
    if isinstance(doc, str):
        text = unquote(doc)
        try:
            json.loads(text)
        except ValueError as exc:
            excerpt = text[:60] + ("…" if len(text) > 60 else "")
            return f"{where}: not valid JSON ({exc}): {excerpt!r}"
    return f"{where}: a JSON {type(doc).__name__}, not an object"


def detail_problems(kind: str, detail: Any, account_id: str) -> list[str]:
    """'field: reason' for each part of a GAAD detail ConsoleMe's readers could not use ([] = cacheable)."""
    if not isinstance(detail, dict):
        return [f"(item): not an object but {type(detail).__name__}"]
    out = []
    arn = detail.get("Arn")
    try:
        owner = parse_arn(arn).account
    except NotAnArn:
        out.append(f"Arn: missing or not an ARN ({str(arn)[:80]!r})")
    else:
        if owner not in (account_id, AWS_MANAGED_ACCOUNT if kind == "policies" else account_id):
            # Fields are keyed by ARN: another account's ARN would overwrite that account's entry.
            out.append(f"Arn: belongs to account {owner!r}, not {account_id}")
    for list_field, doc_field in _DOCUMENTS[kind]:
        if list_field is None:
            problem = _document_problem(doc_field, detail.get(doc_field))
            out += [problem] if problem else []
            continue
        items = detail.get(list_field) or []
        if not isinstance(items, list):
            out.append(f"{list_field}: not a list")
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                out.append(f"{list_field}[{i}]: not an object")
                continue
            label = item.get("PolicyName") or item.get("VersionId") or i
            problem = _document_problem(f"{list_field}[{label}].{doc_field}", item.get(doc_field))
            out += [problem] if problem else []
    tags = detail.get("Tags")
    if tags is not None and not (
        isinstance(tags, list)
        and all(isinstance(t, dict) and isinstance(t.get("Key"), str) and isinstance(t.get("Value"), str) for t in tags)
    ):
        out.append("Tags: not a list of {Key, Value} strings")
    return out
