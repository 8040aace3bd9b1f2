"""Per-account staleness. Dagster's freshness is asset-level (one fresh partition makes the asset fresh), so
each account partition's last materialization is read and judged against the asset's window here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from .freshness import Window

PAGE = 10_000  # fetch_materializations' cap per call
MAX_PAGES = 20  # bounds one evaluation on a huge history; accounts not seen by then count as never refreshed


@dataclass(frozen=True)
class AccountState:
    account_id: str
    level: str  # "PASS" | "WARN" | "FAIL"
    age_seconds: float | None  # None: never materialized (or older than the history read)


def level_for_age(age_seconds: float, window: Window) -> str:
    if age_seconds >= window.fail_seconds:
        return "FAIL"
    if age_seconds >= window.warn_seconds:
        return "WARN"
    return "PASS"


def judge_accounts(
    accounts: Iterable[str],
    last_by_account: dict[str, float],
    now: float,
    window: Window,
    known_since: dict[str, float] | None = None,
) -> dict[str, AccountState]:
    """Each account's state from its last materialization time (pure). An account never materialized is FAIL,
    unless `known_since` says when it was first seen: then it is judged as if refreshed at that time (a new
    install or a new account is not stale before its first scheduled refresh could have run)."""
    out = {}
    for account in accounts:
        last = last_by_account.get(account)
        age = None if last is None else max(0.0, now - last)
        if age is not None:
            level = level_for_age(age, window)
        elif known_since is not None and account in known_since:
            level = level_for_age(max(0.0, now - known_since[account]), window)
        else:
            level = "FAIL"
        out[account] = AccountState(account, level, age)
    return out


def _scan(
    instance: dg.DagsterInstance, records_filter: dg.AssetRecordsFilter, wanted: set[str], found: dict[str, float]
) -> None:
    """Newest first, paginated: the first time seen per partition is its latest materialization."""
    cursor = None
    for _ in range(MAX_PAGES):
        result = instance.fetch_materializations(records_filter, limit=PAGE, cursor=cursor)
        for record in result.records:
            partition = record.partition_key
            if partition in wanted and partition not in found:
                found[partition] = record.timestamp
        if not result.has_more or wanted <= set(found):
            return
        cursor = result.cursor


def last_materialization_by_partition(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str], since: float
) -> dict[str, float]:
    """{partition: timestamp of its latest materialization}. Reads the window since `since` for all accounts,
    then only the accounts not seen there (so a long history is not read for the fresh majority)."""
    wanted = set(partitions)
    found: dict[str, float] = {}
    _scan(instance, dg.AssetRecordsFilter(asset_key=asset_key, after_timestamp=since), wanted, found)
    missing = sorted(wanted - set(found))
    if missing:
        _scan(instance, dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=missing), set(missing), found)
    return found


def account_states(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    partitions: list[str],
    window: Window,
    now: float,
    known_since: dict[str, float] | None = None,
) -> dict[str, AccountState]:
    last = last_materialization_by_partition(instance, asset_key, partitions, since=now - window.fail_seconds)
    return judge_accounts(partitions, last, now, window, known_since)


def describe_age(age_seconds: float | None) -> str:
    if age_seconds is None:
        return "never refreshed"
    minutes = int(age_seconds // 60)
    if minutes < 120:
        return f"{minutes} min old"
    return f"{minutes // 60} h {minutes % 60} min old"
