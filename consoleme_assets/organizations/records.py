"""Organizations API responses -> ALL_AWS_SCPS and AWS_ORG_STRUCTURE (spec §5.15, §5.16). Pure functions.

SCP entries are what ConsoleMe's `ServiceControlPolicyModel(...).dict()` produced: snake_case fields read from
the API's CamelCase ones (its models alias `target_id` <- `TargetId`, ...), in the models' field order.
The org structure keeps the API's own field names; datetimes become epoch floats, as ConsoleMe's JSON
encoder wrote them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..aws.organizations import RawOrgTree, RawScp


def _field(obj: dict[str, Any], name: str, where: str) -> Any:
    try:
        return obj[name]
    except KeyError:
        raise ValueError(f"{where}: the API response has no {name!r}") from None


def scp_target(target: dict[str, Any], where: str) -> dict[str, Any]:
    """A ListTargetsForPolicy entry -> ServiceControlPolicyTargetModel fields."""
    return {
        "target_id": _field(target, "TargetId", where),
        "arn": _field(target, "Arn", where),
        "name": _field(target, "Name", where),
        "type": _field(target, "Type", where),
    }


def scp_policy(policy: dict[str, Any], where: str) -> dict[str, Any]:
    """DescribePolicy's `Policy` -> ServiceControlPolicyDetailsModel fields (`content`: the JSON string)."""
    summary = _field(policy, "PolicySummary", where)
    return {
        "id": _field(summary, "Id", where),
        "arn": _field(summary, "Arn", where),
        "name": _field(summary, "Name", where),
        "description": summary.get("Description") or "",  # the model requires a string; AWS may omit it
        "type": summary.get("Type"),
        "aws_managed": bool(_field(summary, "AwsManaged", where)),
        "content": _field(policy, "Content", where),
    }


def scp_entries(raws: Iterable[RawScp], master_account_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One organization's SCPs in ListPolicies order, and the ids of those skipped (deleted while read)."""
    entries, skipped = [], []
    for raw in raws:
        policy_id = raw.summary.get("Id", "?")
        if raw.policy is None:
            skipped.append(policy_id)
            continue
        where = f"organization {master_account_id}, policy {policy_id}"
        entries.append(
            {
                "targets": [scp_target(t, where) for t in raw.targets],
                "policy": scp_policy(raw.policy, where),
            }
        )
    return entries, skipped


def json_ready(value: Any) -> Any:
    """Datetimes -> epoch float (ConsoleMe's SetEncoder; naive values are UTC), recursively."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


# AWS added Account `State` to DescribeAccount in 2025; ConsoleMe 1.4's botocore does not know it and never wrote it.
NOT_IN_CONSOLEME_ACCOUNT = frozenset({"State"})


def _children(tree: RawOrgTree, parent_id: str) -> list[dict[str, Any]]:
    # ConsoleMe: child = ListChildren entry {Id, Type}; child["Parent"] = parent; child.update(Describe...);
    # OUs then get "Children". Key order follows those steps.
    out = []
    for child in tree.children.get(parent_id, []):
        node = {**child, "Parent": parent_id}
        if child["Type"] == "ORGANIZATIONAL_UNIT":
            node.update(tree.ous[child["Id"]])
            node["Children"] = _children(tree, child["Id"])
        else:  # DescribeAccount's answer as ConsoleMe's botocore parsed it: without the later `State` field
            node.update({k: v for k, v in tree.accounts[child["Id"]].items() if k not in NOT_IN_CONSOLEME_ACCOUNT})
        out.append(node)
    return out


def org_structure(tree: RawOrgTree) -> dict[str, Any]:
    """One organization: `{root_id: {Id, Arn, Name, PolicyTypes, Children: [...]}}`."""
    return {root["Id"]: json_ready({**root, "Children": _children(tree, root["Id"])}) for root in tree.roots}


def merge_org_structures(per_org: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Several organizations' roots in one dict keyed by root id, as ConsoleMe's `dict.update` merged them.

    A root belongs to exactly one organization, so the same root id from two management accounts means two
    config entries reach one organization through different accounts: an error naming both, rather than
    ConsoleMe's silent overwrite.
    """
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for master_account_id, structure in per_org:
        for root_id, root in structure.items():
            if root_id in owner:
                raise ValueError(
                    f"root {root_id} is reported by organization {owner[root_id]} and by organization "
                    f"{master_account_id}; list each organization once in cache_accounts_from_aws_organizations"
                )
            owner[root_id] = master_account_id
            merged[root_id] = root
    return merged


def count_nodes(structure: dict[str, Any]) -> dict[str, int]:
    """Roots, OUs and accounts in a structure (for metadata)."""
    counts = {"roots": len(structure), "organizational_units": 0, "accounts": 0}

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("Children", []):
            if child.get("Type") == "ORGANIZATIONAL_UNIT":
                counts["organizational_units"] += 1
                walk(child)
            else:
                counts["accounts"] += 1

    for root in structure.values():
        walk(root)
    return counts


def outline(structure: dict[str, Any], max_lines: int = 40) -> str:
    """A short indented text tree for the materialization preview."""
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        for child in node.get("Children", []):
            if len(lines) >= max_lines:
                return
            label = child.get("Name") or child.get("Id")
            kind = "OU" if child.get("Type") == "ORGANIZATIONAL_UNIT" else "account"
            lines.append(f"{'  ' * depth}- {label} ({kind} {child.get('Id')})")
            walk(child, depth + 1)

    for root_id, root in structure.items():
        lines.append(f"{root.get('Name', 'Root')} ({root_id})")
        walk(root, 1)
    if len(lines) >= max_lines:
        lines = lines[:max_lines] + ["..."]
    return "\n".join(lines)
