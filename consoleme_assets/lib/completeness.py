"""Whether a dataset's cache is whole: nothing a refresh wrote is gone. After Redis is flushed or replaced (a
failover, `make dev` restarted with a new Redis under an old DAGSTER_HOME), a role-change event writing two roles
makes IAM_ROLE_CACHE exist again while the other roles, and the users, groups and policies, are gone. Such a
cache is not filled: the cache-presence sensor refills it, and nothing is built from it meanwhile (a derived
dataset's build refuses, its schedule skips, saying which upstream is incomplete and why).

Judged against what Dagster recorded, so a dataset never refreshed, or an account whose latest refresh failed
(its partition shows FAILED), is not "lost": only what a refresh had written and the store no longer holds."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from ..stores.caches import ConsoleMeCaches
from .datasets import Dataset
from .partitions import aws_accounts_partitions

SHOWN_ACCOUNTS = 10


@dataclass(frozen=True)
class Gap:
    """What a dataset's cache lacks: keys gone with their stamp, accounts whose entries are gone, or (judged only
    for what is built from it) accounts whose first refresh has not landed: every account, or those under way."""

    dataset: str
    lost_keys: tuple[str, ...] = ()
    lost_accounts: tuple[str, ...] = ()
    never_refreshed: bool = False
    first_refresh_running: tuple[str, ...] = ()  # accounts never refreshed whose first refresh is queued or running

    def __bool__(self) -> bool:
        return bool(self.lost_keys or self.lost_accounts or self.never_refreshed or self.first_refresh_running)

    def describe(self) -> str:
        if self.never_refreshed:
            return "no account refreshed yet (its cache holds at most what role-change events wrote)"
        parts = [f"Redis key {key} does not exist" for key in self.lost_keys]
        if self.lost_accounts:
            parts.append(
                f"the entries of {len(self.lost_accounts)} refreshed account(s) gone ({_some(self.lost_accounts)})"
            )
        if self.first_refresh_running:
            n = len(self.first_refresh_running)
            parts.append(f"the first refresh of {n} account(s) under way ({_some(self.first_refresh_running)})")
        return "; ".join(parts)


def _some(accounts: tuple[str, ...]) -> str:
    more = f" and {len(accounts) - SHOWN_ACCOUNTS} more" if len(accounts) > SHOWN_ACCOUNTS else ""
    return ", ".join(accounts[:SHOWN_ACCOUNTS]) + more


def gap_of(dataset: Dataset, caches: ConsoleMeCaches, instance: dg.DagsterInstance, built_from: bool = False) -> Gap:
    """What `dataset`'s cache lacks of what its recorded materializations wrote (an empty Gap: it is whole).
    `built_from`: judged for a dataset built from it, so a per-account dataset no account's refresh has finished
    for (a cold start, where role-change events wrote a few roles) is a gap too."""
    if dataset.storage is None:
        return Gap(dataset.name)
    key = dg.AssetKey(dataset.name)
    if not dataset.per_account:
        if instance.get_latest_materialization_event(key) is None:
            return Gap(dataset.name)  # never built: nothing lost
        return Gap(dataset.name, tuple(sorted(caches.lost_keys(caches.storage_keys(dataset.storage)))))
    current = sorted(instance.get_dynamic_partitions(aws_accounts_partitions.name))  # closed accounts left
    status = instance.get_status_by_partition(key, current, aws_accounts_partitions) or {}
    # An account whose latest refresh failed is shown red on its own partition; counting it as a gap would let one
    # failing account hold back every derived dataset (ConsoleMe's bug), so it is judged by that failure instead.
    materialized = instance.get_materialized_partitions(key)
    refreshed = [a for a in current if a in materialized and status.get(a) != dg.AssetPartitionStatus.FAILED]
    # For what is built from it: a first refresh that has not landed everywhere is not a cache yet (a cold start,
    # where the derived schedules tick while the first refresh runs). An account added later, not yet refreshed
    # and not running, holds nothing back: it joins at its dataset's next run.
    first = tuple(a for a in current if a not in materialized and status.get(a) == dg.AssetPartitionStatus.IN_PROGRESS)
    if not any(a in materialized for a in current):
        return Gap(dataset.name, never_refreshed=built_from and bool(current))
    lost_keys = tuple(sorted(caches.lost_keys(caches.storage_keys(dataset.storage))))
    lost_accounts = tuple(caches.accounts_without_entries(dataset.storage, refreshed))
    return Gap(dataset.name, lost_keys, lost_accounts, first_refresh_running=first if built_from else ())


def upstream_gaps(
    dataset: Dataset, datasets: dict[str, Dataset], caches: ConsoleMeCaches, instance: dg.DagsterInstance
) -> list[Gap]:
    """The gaps of the datasets `dataset` is built from."""
    return [
        g
        for name in dataset.deps
        if name in datasets and (g := gap_of(datasets[name], caches, instance, built_from=True))
    ]
