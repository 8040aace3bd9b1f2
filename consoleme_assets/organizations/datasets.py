"""`service_control_policies` (ALL_AWS_SCPS) and `organization_structure` (AWS_ORG_STRUCTURE), read hourly from
each configured organization's management account (ConsoleMe cache_scps_across_organizations,
cache_organization_structure), refreshed in one job. The web's SCP endpoint reads both.

Every configured organization must be read for a refresh to land: if one fails, the run fails naming it and
both caches keep their last good value (a partial write would silently drop an organization's SCPs).
"""

from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from ..aws.organizations import (
    Organization,
    configured_organizations,
    open_organization,
    read_org_tree,
    read_service_control_policies,
)
from ..lib.datasets import HOURLY, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import Shape, object_of, values_of
from ..stores.caches import JsonDocument
from .records import count_nodes, merge_org_structures, org_structure, outline, scp_entries

GROUP = "organizations"
PREVIEW_ROWS = 20
T = TypeVar("T")


def scps_preview(scps: dict[str, list[dict[str, Any]]], limit: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    rows = [
        dg.TableRecord(
            {
                "organization": org,
                "id": e["policy"]["id"],
                "name": e["policy"]["name"],
                "aws_managed": e["policy"]["aws_managed"],
                "targets": len(e["targets"]),
            }
        )
        for org, entries in scps.items()
        for e in entries
    ][:limit]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("organization", "string"),
            dg.TableColumn("id", "string"),
            dg.TableColumn("name", "string"),
            dg.TableColumn("aws_managed", "bool"),
            dg.TableColumn("targets", "int"),
        ]
    )
    return dg.MetadataValue.table(records=rows, schema=schema)


def scps_by_arn(scps: Any) -> dict[str, tuple[str, Any]]:
    """{policy ARN: (organization's management account, the entry: targets and policy)} of ALL_AWS_SCPS."""
    out: dict[str, tuple[str, Any]] = {}
    for master, entries in (scps or {}).items() if isinstance(scps, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            arn = entry.get("policy", {}).get("arn") if isinstance(entry, dict) else None
            if isinstance(arn, str):
                out[arn] = (master, entry)
    return out


def read_each_organization(
    context: dg.AssetExecutionContext, consoleme: ConsoleMeResource, purpose: str, read: Callable[[Organization], T]
) -> dict[str, T]:
    """Management account id -> `read(org)` for every configured organization, in configured order, each through
    its configured role. None configured: {} and a warning (the cache becomes {})."""
    settings, sessions = consoleme.settings, consoleme.sessions
    out: dict[str, T] = {}
    for source in configured_organizations(settings):
        org = open_organization(settings, sessions, source, purpose)
        out[org.master_account_id] = read(org)
    if not out:
        context.log.warning("no organizations configured (cache_accounts_from_aws_organizations): caching {}")
    return out


def read_service_control_policies_of_all(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    """Every SCP of every configured organization with its targets."""
    read = read_each_organization(
        context, consoleme, "scps", lambda org: scp_entries(read_service_control_policies(org), org.master_account_id)
    )
    scps = {master: entries for master, (entries, _) in read.items()}
    skipped = {master: gone for master, (_, gone) in read.items() if gone}
    for master, gone in skipped.items():
        context.log.info(f"organization {master}: policies deleted while read, skipped: {gone}")
    return Built(
        scps,
        {
            "dagster/row_count": sum(len(v) for v in scps.values()),
            "organizations": dg.MetadataValue.json(list(scps)),
            "policies_by_organization": dg.MetadataValue.json({k: len(v) for k, v in scps.items()}),
            "policies_skipped": dg.MetadataValue.json(skipped),
            "preview": scps_preview(scps),
        },
    )


def read_organization_structure(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    """Every configured organization's tree, merged into one dict keyed by root id."""
    trees = read_each_organization(context, consoleme, "org-structure", read_org_tree)
    per_org = [(master, org_structure(tree)) for master, tree in trees.items()]
    vanished = {master: tree.vanished for master, tree in trees.items() if tree.vanished}
    structure = merge_org_structures(per_org)
    counts = count_nodes(structure)
    return Built(
        structure,
        {
            "dagster/row_count": counts["accounts"],
            "roots": counts["roots"],
            "organizational_units": counts["organizational_units"],
            "accounts": counts["accounts"],
            "roots_by_organization": dg.MetadataValue.json({m: list(s) for m, s in per_org}),
            "children_skipped": dg.MetadataValue.json(vanished),
            "preview": dg.MetadataValue.md(f"```\n{outline(structure)}\n```"),
        },
    )


SERVICE_CONTROL_POLICIES = Dataset(
    name="service_control_policies",
    description="Every SCP of every configured organization with its targets: `{org_master_account_id: "
    '[{"targets": [...], "policy": {...}}]}`. Writes ALL_AWS_SCPS and its S3 copy.',
    group=GROUP,
    kinds={"aws", "redis", "s3"},
    cadence=HOURLY,
    build=read_service_control_policies_of_all,
    job="organizations",
    consoleme_tasks=("cache_scps_across_organizations",),
    storage=JsonDocument(lambda s: s.redis_keys.all_scps, lambda s: s.s3.scps),
    shape=values_of("a list of SCPs", lambda v: isinstance(v, list)),
    record_kind="scp",
    history_items=scps_by_arn,
)
ORGANIZATION_STRUCTURE = Dataset(
    name="organization_structure",
    description="Every configured organization's tree of OUs and accounts, one dict keyed by root id (all "
    "organizations merged, as ConsoleMe did). Read through each organization's configured role. Writes "
    "AWS_ORG_STRUCTURE and its S3 copy.",
    group=GROUP,
    kinds={"aws", "redis", "s3"},
    cadence=HOURLY,
    build=read_organization_structure,
    job="organizations",
    consoleme_tasks=("cache_organization_structure",),
    storage=JsonDocument(lambda s: s.redis_keys.org_structure, lambda s: s.s3.org_structure),
    shape=Shape(object_of),  # {root_id: root}
)
