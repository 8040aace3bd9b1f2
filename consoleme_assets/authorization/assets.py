"""CREDENTIAL_AUTHORIZATION_MAPPING_V1 and REVERSE_AUTHORIZATION_MAPPING_V1: read by every authenticated
ConsoleMe request, so a build that fails, or that would empty a good mapping, writes nothing.

While IAM_ROLE_CACHE is empty (a new install, or Redis lost and refilling) the step materializes nothing and
succeeds, saying why in its log: the schedule and the role-change sensor skip in that state too, and a run
launched just before Redis emptied is not a failure anyone has to act on. The cached mapping stays as it was;
if the roles never come, the mapping's freshness policy goes stale and alerts."""

import json

import dagster as dg

from ..lib.plugins import load_plugin
from ..resources import ConsoleMeResource
from . import mapping as build
from .datasets import CREDENTIAL_AUTHORIZATION_MAPPING

AUTHORIZATION_GROUP = "authorization"


@dg.multi_asset(
    outs={
        "credential_authorization_mapping": dg.AssetOut(
            io_manager_key="json_cache_io_manager",
            is_required=False,
            metadata={"consoleme_dataset": "credential_authorization_mapping"},
            kinds={"redis", "s3"},
            description="{user or group: {authorized_roles, authorized_roles_cli_only}} (spec §6.4).",
        ),
        "reverse_authorization_mapping": dg.AssetOut(
            io_manager_key="json_cache_io_manager",
            is_required=False,
            metadata={"consoleme_dataset": "reverse_authorization_mapping"},
            kinds={"redis", "s3"},
            description="{lower-cased role ARN: [users and groups]} (spec §6.4).",
        ),
    },
    group_name=AUTHORIZATION_GROUP,
    deps=["iam_resources"],
    pool=CREDENTIAL_AUTHORIZATION_MAPPING.pool,  # one op writes both
)
def credential_authorization_mappings(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource):
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
            return
    plugin = None
    if rules.plugin_enabled:
        if not settings.plugins.group_mapping:
            raise dg.Failure(
                "cloud_credential_authorization_mapping.internal_plugin.enabled is true but "
                "consoleme_assets.plugins.group_mapping names no entry point"
            )
        plugin = load_plugin(settings.plugins.group_mapping, "consoleme_assets.plugins.group_mapping")
    mapping = build.build_mapping(roles, rules, plugin)
    previous = caches.read_json("credential_authorization_mapping")
    if not mapping and previous:
        raise dg.Failure(
            "the new mapping is empty but the cached one is not: keeping the cached mapping "
            f"({len(previous)} identities)"
        )
    forward, backward = build.to_json_ready(mapping), build.reverse(mapping)
    grants = sum(len(g["authorized_roles"]) + len(g["authorized_roles_cli_only"]) for g in forward.values())
    yield dg.Output(
        forward,
        output_name="credential_authorization_mapping",
        metadata={
            "dagster/row_count": len(forward),
            "identities": len(forward),
            "grants": grants,
            "roles_read": len(roles),
            "preview": dg.MetadataValue.json(dict(list(forward.items())[:10])),
        },
    )
    yield dg.Output(
        backward,
        output_name="reverse_authorization_mapping",
        metadata={
            "dagster/row_count": len(backward),
            "roles": len(backward),
            "preview": dg.MetadataValue.json(dict(list(backward.items())[:10])),
        },
    )
