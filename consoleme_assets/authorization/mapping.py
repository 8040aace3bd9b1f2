"""Who may use which role (spec §6.4): ConsoleMe's credential authorization mapping and its reverse.
Pure functions: role entries and settings in, mappings out."""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..settings.model import CredentialMappingSettings

Mapping = dict[
    str, dict[str, set[str]]
]  # user or group -> {"authorized_roles": {...}, "authorized_roles_cli_only": {...}}


def _grant(mapping: Mapping, identity: str, kind: str, arns: Iterable[str], lowercase: bool) -> None:
    identity = identity.lower() if lowercase else identity
    entry = mapping.setdefault(identity, {"authorized_roles": set(), "authorized_roles_cli_only": set()})
    entry[kind].update(arns)


def from_role_tags(mapping: Mapping, roles: Iterable[tuple[str, dict[str, Any]]], rules: CredentialMappingSettings):
    """Tags listed in authorized_groups_tags (CLI-only: authorized_groups_cli_only_tags) name groups,
    separated by ":", that may use the role. Roles whose trust policy lacks required_trust_policy_entity
    are skipped."""
    required = (rules.required_trust_policy_entity or "").lower()
    console_tags, cli_tags = set(rules.authorized_groups_tags), set(rules.authorized_groups_cli_only_tags)
    for arn, detail in roles:
        if required and required not in json.dumps(detail.get("AssumeRolePolicyDocument", {})).lower():
            continue
        for tag in detail.get("Tags") or []:
            for tags, kind in ((console_tags, "authorized_roles"), (cli_tags, "authorized_roles_cli_only")):
                if tag["Key"] in tags:
                    for group in tag["Value"].split(":"):
                        if group:
                            _grant(mapping, group, kind, [arn], rules.force_groups_lowercase)
    return mapping


def from_static(mapping: Mapping, rules: CredentialMappingSettings) -> Mapping:
    """`group_mapping: {group: {roles: [...], cli_only_roles: [...]}}` from the settings file."""
    for group, grants in rules.group_mapping.items():
        _grant(mapping, group, "authorized_roles", grants.get("roles", []), rules.force_groups_lowercase)
        _grant(
            mapping, group, "authorized_roles_cli_only", grants.get("cli_only_roles", []), rules.force_groups_lowercase
        )
    return mapping


def reverse(mapping: Mapping) -> dict[str, list[str]]:
    """{lower-cased role ARN: [identities]}; an identity granted both ways appears twice, as in ConsoleMe."""
    out: dict[str, list[str]] = defaultdict(list)
    for identity, grants in mapping.items():
        for arn in sorted(grants["authorized_roles"]):
            out[arn.lower()].append(identity)
        for arn in sorted(grants["authorized_roles_cli_only"]):
            out[arn.lower()].append(identity)
    return dict(out)


def to_json_ready(mapping: Mapping) -> dict[str, dict[str, list[str]]]:
    return {
        identity: {kind: sorted(arns) for kind, arns in grants.items()} for identity, grants in sorted(mapping.items())
    }


def build_mapping(
    roles: Iterable[tuple[str, dict[str, Any]]],
    rules: CredentialMappingSettings,
    plugin: Callable[[Mapping], Mapping] | None = None,
) -> Mapping:
    """ConsoleMe's generator order: role tags, then the static group mapping, then the internal plugin."""
    mapping: Mapping = {}
    if rules.role_tags_enabled:
        from_role_tags(mapping, roles, rules)
    if rules.static_enabled:
        from_static(mapping, rules)
    if plugin is not None:
        mapping = plugin(mapping)
    return mapping
