"""How one account's IAM becomes ConsoleMe's entries (`iam_resources`; ConsoleMe
cache_iam_resources_for_account / _across_accounts): from GetAccountAuthorizationDetails in the primary region,
from the primary's DynamoDB table and S3 files in a replica; and what each account's materialization shows."""

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

from ..aws.arns import is_aws_managed
from ..aws.iam import account_authorization_details
from ..lib.account_refresh import refresh_accounts
from ..lib.publishing import Publisher
from ..lib.resources import ConsoleMeResource
from ..lib.write_metadata import iam_write_metadata
from ..settings import Settings
from ..stores.iam_cache import IamAccount, IamCache
from . import records

_GAAD_LIST = {"roles": "RoleDetailList", "users": "UserDetailList", "groups": "GroupDetailList", "policies": "Policies"}
_SINGULAR = {"roles": "role", "users": "user", "groups": "group", "policies": "policy"}


def iam_account_from_gaad(
    account_id: str, gaad: dict[str, list], settings: Settings, templated: dict[str, str | None], now: dt.datetime
) -> IamAccount:
    """GAAD -> the account's cache entries. Roles go through ConsoleMe's role filter. An item ConsoleMe's
    readers could not use (e.g. a policy document that is not JSON) is rejected alone, named with its field."""
    ttl = records.ttl_from(now)
    owner_keys = settings.owner_tags
    valid: dict[str, list[dict[str, Any]]] = {}
    rejected: list[dict[str, Any]] = []
    for kind, list_name in _GAAD_LIST.items():
        valid[kind] = []
        for i, detail in enumerate(gaad[list_name]):
            problems = records.detail_problems(kind, detail, account_id)
            if problems:
                arn = detail.get("Arn") if isinstance(detail, dict) else None
                rejected.append(
                    {"kind": kind, "arn": arn if isinstance(arn, str) else f"{list_name}[{i}]", "problems": problems}
                )
            else:
                valid[kind].append(detail)
    roles = [
        r for r in valid["roles"] if records.allowed_to_sync_role(r["Arn"], records.tags_of(r), settings.role_filter)
    ]
    entries = {
        "roles": {r["Arn"]: records.role_entry(r, account_id, ttl, owner_keys, templated.get(r["Arn"])) for r in roles},
        "users": {u["Arn"]: records.user_entry(u, account_id, ttl, owner_keys) for u in valid["users"]},
        "groups": {g["Arn"]: records.group_entry(g, account_id, ttl) for g in valid["groups"]},
        "policies": {p["Arn"]: records.policy_entry(p, account_id, ttl) for p in valid["policies"]},
    }
    raw = {"roles": roles, "users": valid["users"], "groups": valid["groups"], "policies": valid["policies"]}
    return IamAccount(
        account_id,
        entries,
        raw=raw,
        gaad=gaad,
        roles_filtered_out=len(valid["roles"]) - len(roles),
        rejected=rejected,
    )


def rejection_line(account_id: str, item: dict[str, Any], kept: bool) -> str:
    """One log line per rejected item: account, ARN, the fields at fault, and what the cache holds now."""
    after = "its last good cache entry is kept" if kept else "not cached (no earlier entry)"
    return (
        f"account {account_id}: {_SINGULAR[item['kind']]} {item['arn']} rejected: "
        f"{'; '.join(item['problems'])}; {after}"
    )


def iam_account_from_primary(cache: IamCache, account_id: str) -> IamAccount:
    """Replica region: roles from the DynamoDB global table, the rest from the primary's combined S3 files."""
    entries: dict[str, dict[str, Any]] = {"roles": cache.roles_from_dynamo(account_id)}
    notes = []
    for kind in ("users", "groups", "policies"):
        found = cache.entries_from_combined(kind, account_id)
        if found is None:
            notes.append(f"{kind}: the primary's combined S3 file is missing; left as cached")
        else:
            entries[kind] = found
    return IamAccount(account_id, entries, notes=notes)


def describe(account: IamAccount) -> dict[str, Any]:
    counts = account.counts()
    meta: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(sum(counts.values())),
        # Of the policies, how many are AWS-managed (shared, in no account): the coverage check needs it.
        "counts": dg.MetadataValue.json({**counts, "aws_managed_policies": account.aws_managed_policies()}),
        "roles_filtered_out": dg.MetadataValue.int(account.roles_filtered_out),
        "source": dg.MetadataValue.text("aws" if account.raw is not None else "primary region (DynamoDB + S3)"),
        "roles_preview": dg.MetadataValue.json(sorted(account.entries.get("roles", {}))[:20]),
    }
    if account.rejected:
        kept = {arn for arns in account.kept.values() for arn in arns}
        meta["rejected_items"] = dg.MetadataValue.json(
            [{**item, "kept_last_good": item["arn"] in kept} for item in account.rejected[:100]]
        )
    return meta


def publish_account(
    publisher: Publisher | None, cache: IamCache, account: IamAccount, record_kinds: dict[str, str]
) -> dict[str, Any]:
    """Plan the account's write, let the guard refuse it, write only what changed, record the changes; returns
    the write's metadata. An account with nothing cached yet (its first refresh)
    sets the baseline: no change records."""
    aid = account.account_id
    plan = cache.plan_account(account, time.time())
    shared = {
        kind: {k for k in (*p.previous, *p.fresh) if is_aws_managed(k)} for kind, p in plan.kinds.items()
    }  # AWS's own policies, the same in every account: not one account's change
    removed = sum(len(p.deletes) for p in plan.kinds.values())
    cached = sum(len(set(p.previous) - shared[k]) for k, p in plan.kinds.items())
    if publisher is not None:
        publisher.check(aid, removed, cached)
    report, counts = cache.apply(plan)
    totals: dict[str, int] = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
    first: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    for kind, p in plan.kinds.items():
        for name, n in p.changes.counts().items():
            totals[name] += n
        for name, keys in p.changes.first(10).items():
            if name in first:
                first[name] += keys
        if publisher is not None and cached:
            view = records.history_view if kind == "roles" else None
            publisher.record_entries(
                aid, record_kinds.get(kind, kind), p.changes, p.previous, p.fresh, shared[kind], view=view
            )
    metadata = {**iam_write_metadata(report, counts), **Publisher.account_metadata(totals, first)}
    return metadata


def refresh_iam_resources(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    cache: IamCache,
    publisher: Publisher | None = None,
    record_kinds: dict[str, str] | None = None,
) -> Iterator[dg.AssetMaterialization]:
    """Every account of the run: fetched, its rejected items logged, written through `cache` (only what changed,
    past the publish guard); then the combined files (primary region only) of the kinds whose hash changed since
    they were written (stores/s3_copies.py)."""
    settings = consoleme.settings

    def from_aws(account_id: str) -> IamAccount:
        gaad = account_authorization_details(consoleme.sessions, account_id)
        arns = [r.get("Arn") for r in gaad["RoleDetailList"] if isinstance(r, dict)]
        templated = cache.templated([a for a in arns if isinstance(a, str)])
        account = iam_account_from_gaad(account_id, gaad, settings, templated, dt.datetime.now(dt.UTC))
        account.kept = cache.last_good(account)
        return account

    def write(account_id: str, account: IamAccount) -> dict[str, Any]:
        kept = {arn for arns in account.kept.values() for arn in arns}
        for item in account.rejected:  # logged here: this is the step's thread
            context.log.warning(rejection_line(account_id, item, item["arn"] in kept))
        return publish_account(publisher, cache, account, record_kinds or {})

    def finalize(landed: list[str]) -> dict[str, Any]:
        if settings.is_replica:
            return {}
        report = cache.write_combined()
        return {"combined_s3_uris": dg.MetadataValue.json(report.s3_uris)} if report.s3_uris else {}

    yield from refresh_accounts(
        context,
        collect=(lambda a: iam_account_from_primary(cache, a)) if settings.is_replica else from_aws,
        write=write,
        max_workers=settings.tuning.max_concurrent_accounts,
        describe=describe,
        finalize=finalize,
        publisher=publisher,
    )
