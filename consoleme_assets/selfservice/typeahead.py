"""Self-service typeahead entries (spec §5.18): templates, then roles, then users. Pure functions.

Field names and order are ConsoleMe's SelfServiceTypeaheadModel as serialised by the task (`account` and
`application_name` present as null when unset; `application_url` is computed by ConsoleMe but not part of the
model, so it is not written).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..aws.arns import account_of


def template_entry(template: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "icon": "users",
        "number_of_affected_resources": template.get("number_of_accounts") or 0,
        "display_text": template.get("name"),
        "account": None,
        "details_endpoint": f"/api/v2/templated_resource/{template.get('repository_name')}/{template.get('resource')}",
        "application_name": None,
        "principal": {
            "principal_type": "HoneybeeAwsResourceTemplate",
            "repository_name": template.get("repository_name"),
            "resource_identifier": template.get("resource"),
            "resource_url": template.get("web_path"),
        },
    }


def iam_role_templates(templated_resources: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The honeybee templates of `iam_role` resources (what ConsoleMe's typeahead offers)."""
    return [
        t
        for t in (templated_resources or {}).get("templated_resources") or []
        if t.get("resource_type") == "iam_role" and t.get("template_language") == "honeybee"
    ]


def app_name_of(detail: Mapping[str, Any], app_name_tag: str | None) -> str | None:
    """The value of the last `app_name_tag` tag (ConsoleMe kept looping, so the last one won)."""
    name = None
    if app_name_tag:
        for tag in detail.get("Tags") or []:
            if isinstance(tag, dict) and tag.get("Key") == app_name_tag:
                name = tag.get("Value")
    return name


def principal_entry(
    arn: str, entry: Mapping[str, Any], kind: str, account_names: Mapping[str, str], app_name_tag: str | None
) -> dict[str, Any]:
    """A role (`kind` "roles") or user ("users") entry from its IAM cache entry (spec §6.1)."""
    detail = json.loads(entry["policy"]) if isinstance(entry.get("policy"), str) else entry.get("policy") or {}
    principal_arn = detail.get("Arn") or entry.get("arn") or arn
    name_key = "RoleName" if kind == "roles" else "UserName"
    name = detail.get(name_key) or principal_arn.split("/")[-1]
    account_id = account_of(principal_arn)
    if account_id is None:
        raise ValueError(f"{principal_arn!r} is not an ARN with an account id")
    return {
        "icon": "user",
        "number_of_affected_resources": 1,
        "display_text": name,
        "account": account_names.get(account_id, account_id),
        "details_endpoint": f"/api/v2/{kind}/{account_id}/{name}",
        "application_name": app_name_of(detail, app_name_tag),
        "principal": {"principal_type": "AwsResource", "principal_arn": principal_arn},
    }


def account_names_of(accounts: Mapping[str, Any] | None) -> dict[str, str]:
    """{id: name} of the active accounts in ALL_AWS_ACCOUNTS (ConsoleMe's get_account_id_to_name_mapping)."""
    return {
        a["id"]: a["name"]
        for a in (accounts or {}).get("accounts") or []
        if a.get("status") == "active" and a.get("id")
    }


def typeahead_entries(
    templates: Iterable[Mapping[str, Any]],
    roles: Iterable[tuple[str, Mapping[str, Any]]],
    users: Iterable[tuple[str, Mapping[str, Any]]],
    account_names: Mapping[str, str],
    app_name_tag: str | None,
    problems: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Templates first, then roles, then users; roles and users sorted by ARN (Redis hash order is arbitrary).
    Each cache entry is reduced to its small typeahead entry as it streams by, so whole roles (with their
    policies) are never held together."""
    out = [template_entry(t) for t in templates]
    for kind, principals in (("roles", roles), ("users", users)):
        entries = []
        for arn, entry in principals:
            try:
                entries.append(principal_entry(arn, entry, kind, account_names, app_name_tag))
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:  # one bad entry, not all
                if problems is not None:
                    problems.append(f"{arn}: unreadable IAM cache entry ({type(exc).__name__}: {exc})")
        out += sorted(entries, key=lambda e: e["principal"]["principal_arn"])
    return out
