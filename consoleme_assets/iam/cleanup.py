"""Dropping IAM_ROLE_CACHE entries nobody refreshes any more (ConsoleMe's clear_old_redis_iam_cache)."""

import time
from collections import defaultdict

import dagster as dg

from ..accounts.datasets import AWS_ACCOUNTS
from ..aws.arns import account_of
from ..lib.automation import every
from ..lib.publishing import Publisher
from ..lib.resources import ConsoleMeResource
from ..stores.changes import ChangeSet
from .datasets import IAM_RESOURCES, iam_cache
from .records import history_view


def expired_roles(entries, active_accounts: set[str], now: float) -> dict[str, str]:
    """{arn: reason} for entries whose account is gone or whose ttl (epoch, UTC) has passed."""
    out = {}
    for arn, entry in entries:
        account = str(entry.get("accountId") or account_of(arn))
        if account not in active_accounts:
            out[arn] = "account gone"
        elif float(entry.get("ttl") or 0) < now:
            out[arn] = "ttl passed"
    return out


@dg.op(
    description="Removes IAM_ROLE_CACHE entries (and their DynamoDB items) whose account is no longer active "
    "or whose ttl has passed (compared in UTC)."
)
def clear_expired_iam_roles(context: dg.OpExecutionContext, consoleme: ConsoleMeResource) -> dg.Output[None]:
    cache = iam_cache(consoleme)
    accounts = consoleme.caches().read_json(AWS_ACCOUNTS.storage)
    if not accounts or not accounts.get("accounts"):
        raise dg.Failure(
            "ALL_AWS_ACCOUNTS is empty: refusing to judge which accounts are gone (materialize aws_accounts first)"
        )
    active = {a["id"] for a in accounts["accounts"] if a.get("status") == "active"}
    doomed = expired_roles(cache.entries("roles"), active, time.time())
    by_account: dict[str, list[str]] = defaultdict(list)
    for arn in sorted(doomed):
        by_account[str(account_of(arn))].append(arn)
    publisher = Publisher(IAM_RESOURCES, consoleme, {"run_id": context.run_id}, log=context.log)
    for account_id, arns in by_account.items():
        previous = cache.role_values(arns)
        cache.remove_roles(account_id, arns)  # DynamoDB items, then the IAM_ROLE_CACHE fields
        for arn in arns:  # the cache first, then its history (lib/publishing.py)
            cause = {"type": "account_closed" if doomed[arn] == "account gone" else "expired"}
            removed = ChangeSet(removed=(arn,))
            publisher.record_entries(account_id, "role", removed, previous, {}, view=history_view, cause=cause)
    reasons: dict[str, int] = {}
    for reason in doomed.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    context.log.info(f"removed {len(doomed)} IAM_ROLE_CACHE entries: {reasons or 'none'}")
    return dg.Output(
        None,
        metadata={
            "removed": len(doomed),
            "removed_by_reason": dg.MetadataValue.json(reasons),
            "removed_preview": dg.MetadataValue.json(sorted(doomed)[:50]),
            **publisher.finish(),
        },
    )


@dg.job(description="Every 6 hours: drop IAM role cache entries of closed accounts and expired entries.")
def iam_cache_cleanup_job():
    clear_expired_iam_roles()


iam_cache_cleanup_every_6_hours = every("iam_cache_cleanup_every_6_hours", "0 */6 * * *", iam_cache_cleanup_job)
