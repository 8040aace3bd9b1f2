"""The code location, built from the dataset declarations (lib/datasets.py) and what each domain adds (a sensor,
an on-demand job). Everything a user sees of a dataset is derived here: its asset (with description, group,
kinds, pool, freshness policy), its checks, its job and schedule, the resources it takes, and what the
cache-presence, alert and metrics sensors watch. Nothing here imports a domain: the registry is passed in."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from ..settings import Settings
from .account_refresh import per_account_asset
from .automation import crons_at, jobs_and_schedules, jobs_of, offsets
from .built_asset import built_asset
from .checks import build_dataset_checks
from .dagster_private import UnresolvedAssetJobDefinition
from .datasets import EVERY_15_MINUTES, Dataset, by_name
from .executor import forkserver_or_in_process_executor
from .freshness import freshness_windows
from .observability import build_alert_sensor, build_metrics_sensor, consoleme_run_failure_alerts
from .presence import build_cache_presence_sensor
from .resources import ConsoleMeResource, load_deployment_settings

CHECKS_JOB = "observability_checks_job"


def validate_registry(datasets: Mapping[str, Dataset]) -> str | None:
    """Every reference between declarations resolves; returns the dataset that keeps the account partitions."""
    sources = sorted(n for n, d in datasets.items() if d.partitions_source)
    if len(sources) > 1:
        raise ValueError(f"datasets {sources} all declare partitions_source; exactly one keeps the account partitions")
    if not sources and any(d.per_account for d in datasets.values()):
        raise ValueError("per-account datasets are declared but no dataset declares partitions_source")
    for dataset in datasets.values():
        unknown = sorted(set(dataset.deps) - set(datasets))
        if unknown:
            raise ValueError(f"dataset {dataset.name!r} depends on undeclared dataset(s) {unknown}")
        if dataset.built_with is not None:
            head = datasets.get(dataset.built_with)
            if head is None or head.build is None:
                raise ValueError(f"dataset {dataset.name!r} is built with {dataset.built_with!r}, which has no build")
    return sources[0] if sources else None


def dataset_assets(datasets: Mapping[str, Dataset], settings: Settings) -> list[dg.AssetsDefinition]:
    accounts = validate_registry(datasets)
    windows = freshness_windows(datasets, sorted(datasets), settings)
    policies = {name: window.policy() for name, window in windows.items()}
    ops: dict[str, list[Dataset]] = {}
    for dataset in datasets.values():
        ops.setdefault(dataset.built_with or dataset.name, []).append(dataset)
    out = []
    for head_name, group in ops.items():
        head = datasets[head_name]
        group.sort(key=lambda d: d is not head)  # the declaring dataset first
        if head.per_account:
            out.append(per_account_asset(head, accounts, policies[head.name], settings.tuning.max_accounts_per_run))
        else:
            out.append(built_asset(group, policies, datasets))
    return out


def observability_defs(
    defs: dg.Definitions, datasets: Mapping[str, Dataset], settings: Settings, checks_offset: int = 0
) -> dg.Definitions:
    """The checks job and schedule (`checks_offset` minutes into its 15), and the alert, failure, metrics and
    cache-presence sensors, for `defs`."""
    names = sorted(datasets)
    windows = freshness_windows(datasets, names, settings)
    partitioned = sorted(n for n, d in datasets.items() if d.per_account)
    checks_job = dg.define_asset_job(
        CHECKS_JOB,
        selection=dg.AssetSelection.all_asset_checks(),
        description="Every asset check alone, on what is cached now (no refresh)",
        # One process for all checks (seconds), not a subprocess per check op: the run holds every per-account
        # dataset's pool while it runs, so it must be short.
        executor_def=dg.in_process_executor,
    )
    interval = settings.observability.alerts.sensor_interval_seconds
    tasks = {n: d.consoleme_tasks for n, d in datasets.items() if d.consoleme_tasks}
    return dg.Definitions(
        jobs=[checks_job],
        schedules=[
            dg.ScheduleDefinition(
                name="observability_checks_every_15_minutes",
                cron_schedule=crons_at(EVERY_15_MINUTES, checks_offset),
                target=checks_job,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
        sensors=[
            build_alert_sensor(windows, partitioned, interval_seconds=interval),
            consoleme_run_failure_alerts,
            build_metrics_sensor(names, tasks),
            build_cache_presence_sensor(
                defs,
                list(datasets.values()),
                settings.tuning.max_accounts_per_run,
                interval_seconds=settings.observability.presence_interval_seconds,
            ),
        ],
    )


def _dedupe(objects: Iterable[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for obj in objects:
        seen.setdefault(id(obj), obj)
    return list(seen.values())


def resources_for(datasets: Iterable[Dataset], config_file: str | None = None) -> dict[str, Any]:
    """`consoleme` and every resource a dataset declares (each key once)."""
    resources: dict[str, Any] = {"consoleme": ConsoleMeResource(config_file=config_file)}
    for dataset in datasets:
        for key, resource in dataset.resources.items():
            if resources.setdefault(key, resource) is not resource:
                raise ValueError(f"resource {key!r} is declared by two datasets with different values")
    return resources


def definitions_from(
    declared: Sequence[Dataset],
    extras: Sequence[Any] = (),
    *,
    settings: Settings | None = None,
    executor: dg.ExecutorDefinition = forkserver_or_in_process_executor,
    config_file: str | None = None,
) -> dg.Definitions:
    """The code location: the assets, checks, jobs, schedules and resources derived from `declared`, the
    observability sensors over them, and `extras` (a domain's own sensors, jobs, schedules and checks).
    Settings are read at load time (freshness windows are part of the definitions). `executor`: by default steps
    fork from a server that imported these definitions once per run (lib/executor.py); a deployment may pass
    e.g. `dagster_k8s.k8s_job_executor` (deploy/README.md)."""
    settings = settings or load_deployment_settings(config_file)
    datasets = by_name(declared)
    extra_assets = [
        x
        for x in extras
        if isinstance(x, (dg.AssetsDefinition, dg.AssetSpec)) and not isinstance(x, dg.AssetChecksDefinition)
    ]
    if extra_assets:
        raise ValueError(
            "assets are declared as datasets (lib/datasets.py), not added as extras: "
            + ", ".join(
                sorted(k.to_user_string() for a in extra_assets for k in (a.keys if hasattr(a, "keys") else [a.key]))
            )
        )
    assets = dataset_assets(datasets, settings)
    # Schedules spread over the hour (lib/spread.py): the datasets' jobs and the checks job; a domain's own
    # schedules stay where they are and count as load.
    fixed = [
        x.cron_schedule if isinstance(x.cron_schedule, list) else [x.cron_schedule]
        for x in extras
        if isinstance(x, dg.ScheduleDefinition)
    ]
    at = offsets(jobs_of(datasets.values()), fixed, others={CHECKS_JOB: EVERY_15_MINUTES})
    per_run = settings.tuning.max_accounts_per_run
    jobs, schedules = jobs_and_schedules(datasets.values(), at, registry=datasets, max_accounts_per_run=per_run)
    resources = resources_for(datasets.values(), config_file)
    extras = _dedupe(extras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy is beta in 1.13
        core = dg.Definitions(
            assets=assets,
            asset_checks=[
                *build_dataset_checks([d for d in datasets.values() if not d.per_account]),
                *[x for x in extras if isinstance(x, dg.AssetChecksDefinition)],
            ],
            jobs=_dedupe(
                [*jobs, *[x for x in extras if isinstance(x, (dg.JobDefinition, UnresolvedAssetJobDefinition))]]
            ),
            schedules=[*schedules, *[x for x in extras if isinstance(x, dg.ScheduleDefinition)]],
            sensors=[x for x in extras if isinstance(x, dg.SensorDefinition)],
            resources=resources,
            executor=executor,
        )
    return dg.Definitions.merge(core, observability_defs(core, datasets, settings, at[CHECKS_JOB]))
