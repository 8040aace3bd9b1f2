"""Caches that Dagster says exist but the store lost (Redis flushed, failed over to an empty replica, or the
sandbox restarted with a new Redis under an old `.dagster_home`).

Each tick compares every materialized dataset's cache with what its refreshes wrote (lib/completeness.py): a key
gone with its LAST_UPDATED stamp, or, for a per-account dataset, refreshed accounts whose entries are gone (a
flushed Redis refilled by a couple of role-change events has IAM_ROLE_CACHE again, but not the other roles). A
dataset with such a gap is lost: its `cache_shape` check is reported failed at once (the catalog must not show a
cache that is not there), and a refill is requested, upstream first: a dataset is
requested only when none of the datasets it is built from is lost too, so `aws_accounts` lands (and syncs the
account partitions) before the per-account datasets, and IAM before the credential mapping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from .checks import SHAPE_CHECK
from .completeness import Gap, gap_of
from .concurrency import DATASET_TAG
from .datasets import Dataset
from .partitions import aws_accounts_partitions
from .ranges import range_run_requests
from .resources import ConsoleMeResource

SENSOR_NAME = "cache_presence_sensor"
REFILL_RETRY_SECONDS = 600


@dataclass(frozen=True)
class GraphPlace:
    """Where a watched dataset sits in the asset graph."""

    name: str
    partitioned: bool
    ancestors: frozenset[str]  # every dataset it is built from, transitively
    op_siblings: frozenset[str]  # datasets written by the same op (launched together)


def places_of(defs: dg.Definitions, names: Iterable[str]) -> dict[str, GraphPlace]:
    graph = defs.resolve_asset_graph()
    wanted = set(names)

    def ancestors(key: dg.AssetKey) -> set[str]:
        seen: set[str] = set()
        stack = list(graph.get(key).parent_keys)
        while stack:
            parent = stack.pop()
            name = parent.to_user_string()
            if name not in seen and graph.has(parent):
                seen.add(name)
                stack.extend(graph.get(parent).parent_keys)
        return seen & wanted

    out = {}
    for name in sorted(wanted):
        node = graph.get(dg.AssetKey.from_user_string(name))
        out[name] = GraphPlace(
            name,
            node.partitions_def is not None,
            frozenset(ancestors(node.key)),
            frozenset(k.to_user_string() for k in node.execution_set_asset_keys) & wanted,
        )
    return out


def refill_first(lost: set[str], datasets: dict[str, GraphPlace]) -> list[str]:
    """The lost datasets to refill now: those not built from another lost one (pure)."""
    return sorted(n for n in lost if not (datasets[n].ancestors & lost))


def lost_check_evaluation(gap: Gap) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(gap.dataset),
        check_name=SHAPE_CHECK,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{gap.describe()}, although {gap.dataset} was materialized: the store was flushed or "
        "replaced; a refill was requested",
        metadata={
            "redis_keys_lost": dg.MetadataValue.json(list(gap.lost_keys)),
            "accounts_lost": dg.MetadataValue.json(list(gap.lost_accounts)),
        },
    )


ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def active_refills(instance: dg.DagsterInstance) -> set[str]:
    """The datasets a queued or running refill run (of this sensor) is refilling."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES, tags={"consoleme_assets/trigger": "refill"}), limit=100
    )
    return {n for run in runs for n in (run.tags.get(DATASET_TAG) or "").split(",") if n}


def build_cache_presence_sensor(
    defs: dg.Definitions,
    watched: list[Dataset],
    max_accounts_per_run: int | None = None,
    interval_seconds: int = 30,
) -> dg.SensorDefinition:
    """`defs`: the code location's assets (for the dependency order); `watched`: the declared datasets with a
    cache (storage) to watch; per-account refills run in ranges of at most `max_accounts_per_run` accounts.
    Each tick is one pipelined Redis round trip and one asset-records read."""
    declared = {d.name: d for d in watched if d.storage is not None}
    with_shape = {d.name for d in watched if d.shape is not None}
    names = sorted(declared)
    datasets = places_of(defs, names)

    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        target=dg.AssetSelection.assets(*names),
        description="Fails a dataset's cache_shape check and refills it (upstream first) when what its refreshes "
        "wrote is gone from Redis (a key, or some accounts' entries): Redis flushed or failed over",
    )
    def cache_presence_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
        caches = consoleme.caches()
        records = context.instance.get_asset_records([dg.AssetKey(n) for n in datasets])
        last = {
            r.asset_entry.asset_key.to_user_string(): r.asset_entry.last_materialization_storage_id
            for r in records
            if r.asset_entry.last_materialization is not None
        }
        if not last:
            return dg.SkipReason("nothing materialized yet")
        gaps = {n: g for n in sorted(last) if (g := gap_of(declared[n], caches, context.instance))}
        lost = set(gaps)
        state = json.loads(context.cursor or "{}")
        reported = set(state.get("reported", []))
        # {dataset: time} of refills asked for while it stays lost: one refill per loss, asked again only when none
        # is queued or running and REFILL_RETRY_SECONDS passed (its run failed or was removed). A per-account
        # refill lands account by account, so a dataset stays lost while its refill runs.
        requested = {n: v[1] if isinstance(v, list) else v for n, v in (state.get("requested") or {}).items()}
        requested = {n: t for n, t in requested.items() if n in lost}
        now = time.time()
        # One failed evaluation per loss (until the dataset is whole again), not one per tick.
        events = [lost_check_evaluation(gaps[n]) for n in sorted(lost) if n in with_shape and n not in reported]
        refilling = active_refills(context.instance) if requested else set()
        due = {
            n
            for n in refill_first(lost, datasets)
            if n not in requested or (now - requested[n] > REFILL_RETRY_SECONDS and n not in refilling)
        }
        requests = []
        for partitioned in (False, True):
            group = sorted(
                {s for n in due if datasets[n].partitioned == partitioned for s in datasets[n].op_siblings}
                | {n for n in due if datasets[n].partitioned == partitioned}
            )
            if not group:
                continue
            tags = {DATASET_TAG: ",".join(group), "consoleme_assets/trigger": "refill"}
            run_key = f"refill:{','.join(group)}:{int(now)}"
            selection = [dg.AssetKey(n) for n in group]
            if partitioned:  # every account, in ranges of at most max_accounts_per_run (lib/ranges.py)
                accounts = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
                if not accounts:
                    continue
                requests += range_run_requests(accounts, max_accounts_per_run, run_key, tags, selection, run_key)
            else:
                requests.append(dg.RunRequest(run_key=run_key, asset_selection=selection, tags=tags))
            requested.update({n: now for n in group if n in lost})
        if events:
            context.log.warning(
                "caches lost from Redis, refilling: " + "; ".join(f"{n}: {gaps[n].describe()}" for n in sorted(lost))
            )
        cursor = json.dumps({"reported": sorted(lost), "requested": requested}, sort_keys=True)
        if not lost:
            return dg.SensorResult(skip_reason=f"{len(last)} cached datasets present", cursor=cursor)
        return dg.SensorResult(run_requests=requests, asset_events=events, cursor=cursor)

    return cache_presence_sensor
