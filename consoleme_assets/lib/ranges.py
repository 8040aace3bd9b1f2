"""One launch of a per-account refresh as several runs over disjoint account ranges
(`consoleme_assets.max_accounts_per_run`), so the instance's run launcher can start them on different workers.

Ranges are contiguous in partition order (Dagster's range tags name a first and a last partition). The runs of
one launch share a launch id and know their place (`i/k`); the last of them to finish builds what is combined
over all accounts (stores/launches.py keeps the count), so a combined file is written once, from every range's
result, never from a half-done launch. Two runs never refresh one account at the same time: a run claims its
accounts before it starts (stores/launches.py `AccountClaims`), whoever launched it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

LAUNCH_TAG = "consoleme_assets/launch"  # shared by the runs of one split launch
RANGE_TAG = "consoleme_assets/range"  # "i/k": this run's range and how many the launch has
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
BACKFILL_TAG = "dagster/backfill"


def account_ranges(keys: Sequence[str], max_per_run: int | None) -> list[list[str]]:
    """`keys` (in partition order) cut into contiguous ranges of at most `max_per_run` (None: one range)."""
    if max_per_run is not None and max_per_run < 1:
        raise ValueError(f"consoleme_assets.max_accounts_per_run must be at least 1, not {max_per_run}")
    keys = list(keys)
    if not keys:
        return []
    size = len(keys) if max_per_run is None else max_per_run
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def range_tags(accounts: Sequence[str], index: int, total: int, launch: str) -> dict[str, str]:
    """The run tags of range `index` (0-based) of `total`: Dagster's range tags and, when the launch is split,
    our launch id and place."""
    tags = {RANGE_START: accounts[0], RANGE_END: accounts[-1]}
    if total > 1:
        tags |= {LAUNCH_TAG: launch, RANGE_TAG: f"{index + 1}/{total}"}
    return tags


def range_run_requests(
    keys: Sequence[str],
    max_per_run: int | None,
    launch: str,
    tags: Mapping[str, str] | None = None,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    run_key: str | None = None,
) -> list[dg.RunRequest]:
    """One RunRequest per account range (a schedule tick, a sensor's refill). `run_key`: a base made unique per
    range, so a retried tick does not launch a range twice."""
    ranges = account_ranges(keys, max_per_run)
    return [
        dg.RunRequest(
            run_key=None if run_key is None else (run_key if len(ranges) == 1 else f"{run_key}:{i + 1}"),
            asset_selection=list(asset_selection) if asset_selection is not None else None,
            tags={**(tags or {}), **range_tags(chunk, i, len(ranges), launch)},
        )
        for i, chunk in enumerate(ranges)
    ]


@dataclass(frozen=True)
class LaunchPlace:
    """Where a run stands in its launch: the launch id, this run's member id, and how many runs the launch has."""

    launch: str
    member: str
    total: int


def place_of(tags: Mapping[str, str], partition_keys: Sequence[str], backfill_total: int | None = None) -> LaunchPlace:
    """A run's place: from our tags (schedules, sensors, the CLI); for a backfill split by Dagster's
    BackfillPolicy, `backfill_total` runs (the caller counts them); otherwise a launch of its own (one run)."""
    member = partition_keys[0] if partition_keys else ""
    if LAUNCH_TAG in tags and RANGE_TAG in tags:
        index, _, total = tags[RANGE_TAG].partition("/")
        return LaunchPlace(tags[LAUNCH_TAG], index, int(total))
    if BACKFILL_TAG in tags and backfill_total and backfill_total > 1:
        return LaunchPlace(f"backfill:{tags[BACKFILL_TAG]}", member, backfill_total)
    return LaunchPlace("", member, 1)


def contiguous_ranges(known: Sequence[str], chosen: set[str]) -> list[list[str]]:
    """The chosen partitions as runs of neighbours in partition order."""
    ranges: list[list[str]] = []
    current: list[str] = []
    for key in known:
        if key in chosen:
            current.append(key)
        elif current:
            ranges.append(current)
            current = []
    if current:
        ranges.append(current)
    return ranges


def runs_for_selection(known: Sequence[str], chosen: Sequence[str], max_per_run: int | None) -> int:
    """How many runs Dagster's multi-run backfill policy makes of the chosen partitions: each contiguous stretch
    of them cut into pieces of at most `max_per_run`."""
    stretches = contiguous_ranges(known, set(chosen))
    if max_per_run is None:
        return len(stretches)
    return sum(math.ceil(len(s) / max_per_run) for s in stretches)
