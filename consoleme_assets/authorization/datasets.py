"""CREDENTIAL_AUTHORIZATION_MAPPING_V1 and REVERSE_AUTHORIZATION_MAPPING_V1, rebuilt every 5 minutes by one op, as
one ConsoleMe task wrote both. Read by every authenticated ConsoleMe request, so a build that fails, or that
would empty a good mapping, writes nothing.

While IAM_ROLE_CACHE is empty (a new install, or Redis lost and refilling) the build materializes nothing and
succeeds, saying why in its log: the schedule and the role-change sensor skip in that state too, and a run
launched just before Redis emptied is not a failure anyone has to act on. The cached mapping stays as it was;
if the roles never come, the mapping's freshness policy goes stale and alerts."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from ..lib.datasets import EVERY_5_MINUTES, Built, Dataset
from ..lib.plugins import load_plugin
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import MAX_PROBLEMS, Shape, object_of, values_of
from ..stores.caches import JsonDocument
from . import mapping as build

GROUP = "authorization"
_TASKS = ("cache_credential_authorization_mapping",)


def credential_mapping_problems(key: str, doc: Any) -> list[str]:
    return (
        object_of(key, doc)
        or [
            f"{key}[{who}]: expected lists 'authorized_roles' and 'authorized_roles_cli_only'"
            for who, entry in list(doc.items())[:200]
            if not isinstance(entry, dict)
            or not all(isinstance(entry.get(f), list) for f in ("authorized_roles", "authorized_roles_cli_only"))
        ][:MAX_PROBLEMS]
    )


def roles_missing(consoleme: ConsoleMeResource) -> str | None:
    """Why a scheduled build would be bound to fail: the role-tag grants need IAM_ROLE_CACHE, and it is empty
    (a new install before the first IAM refresh lands)."""
    settings = consoleme.settings
    if settings.credential_mapping.role_tags_enabled:
        key = settings.redis_keys.iam_roles
        if consoleme.caches().hash_size(key) == 0:
            return f"{key} is empty: waiting for the first iam_resources refresh"
    return None


def build_mappings(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dict[str, Built] | None:
    settings = consoleme.settings
    rules = settings.credential_mapping
    caches = consoleme.caches()
    roles = []
    if rules.role_tags_enabled:
        for arn, entry in caches.iter_json_hash(settings.redis_keys.iam_roles):
            roles.append((arn, json.loads(entry.get("policy") or "{}")))
        if not roles:
            context.log.warning(
                f"{settings.redis_keys.iam_roles} is empty: not building a mapping without the role-tag grants; "
                "the cached mapping is kept (materialize iam_resources first)"
            )
            return None
    plugin = None
    if rules.plugin_enabled:
        if not settings.plugins.group_mapping:
            raise dg.Failure(
                "cloud_credential_authorization_mapping.internal_plugin.enabled is true but "
                "consoleme_assets.plugins.group_mapping names no entry point"
            )
        plugin = load_plugin(settings.plugins.group_mapping, "consoleme_assets.plugins.group_mapping")
    mapping = build.build_mapping(roles, rules, plugin)
    previous = caches.read_json(CREDENTIAL_AUTHORIZATION_MAPPING.storage)
    if not mapping and previous:
        raise dg.Failure(
            "the new mapping is empty but the cached one is not: keeping the cached mapping "
            f"({len(previous)} identities)"
        )
    forward, backward = build.to_json_ready(mapping), build.reverse(mapping)
    grants = sum(len(g["authorized_roles"]) + len(g["authorized_roles_cli_only"]) for g in forward.values())
    return {
        "credential_authorization_mapping": Built(
            forward,
            {
                "dagster/row_count": len(forward),
                "identities": len(forward),
                "grants": grants,
                "roles_read": len(roles),
                "preview": dg.MetadataValue.json(dict(list(forward.items())[:10])),
            },
        ),
        "reverse_authorization_mapping": Built(
            backward,
            {
                "dagster/row_count": len(backward),
                "roles": len(backward),
                "preview": dg.MetadataValue.json(dict(list(backward.items())[:10])),
            },
        ),
    }


CREDENTIAL_AUTHORIZATION_MAPPING = Dataset(
    name="credential_authorization_mapping",
    description="{user or group: {authorized_roles, authorized_roles_cli_only}} (spec §6.4).",
    group=GROUP,
    kinds={"redis", "s3"},
    cadence=EVERY_5_MINUTES,
    build=build_mappings,
    deps=("iam_resources",),
    job="credential_mapping",
    schedule_guard=roles_missing,
    consoleme_tasks=_TASKS,
    storage=JsonDocument(
        lambda s: s.redis_keys.credential_authorization_mapping, lambda s: s.s3.credential_authorization_mapping
    ),
    shape=Shape(credential_mapping_problems),
)
REVERSE_AUTHORIZATION_MAPPING = Dataset(
    name="reverse_authorization_mapping",
    description="{lower-cased role ARN: [users and groups]} (spec §6.4).",
    group=GROUP,
    kinds={"redis", "s3"},
    cadence=EVERY_5_MINUTES,
    built_with="credential_authorization_mapping",
    deps=("iam_resources",),
    job="credential_mapping",
    consoleme_tasks=_TASKS,
    storage=JsonDocument(
        lambda s: s.redis_keys.reverse_authorization_mapping, lambda s: s.s3.reverse_authorization_mapping
    ),
    shape=values_of("a list of identities", lambda v: isinstance(v, list)),
)
