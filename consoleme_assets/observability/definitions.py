"""Observability for the merged code location: freshness policies on every asset, the checks, the check
schedule and the alert / metrics sensors. Built from the other domains' merged Definitions (it needs their
assets), so the code location applies it last: `defs = with_observability(domain_defs)`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import dagster as dg

from ..datasets import DATASETS
from ..lib.datasets import Dataset
from ..settings import Settings, load_settings
from .checks import build_dataset_checks
from .freshness import freshness_windows, materializable_asset_names, with_freshness
from .presence import build_cache_presence_sensor
from .sensors import build_alert_sensor, build_metrics_sensor, consoleme_run_failure_alerts


def partitioned_asset_names(defs: dg.Definitions) -> list[str]:
    return sorted(s.key.to_user_string() for s in defs.resolve_all_asset_specs() if s.partitions_def is not None)


def observability_defs(
    defs: dg.Definitions, settings: Settings, datasets: Mapping[str, Dataset] = DATASETS
) -> dg.Definitions:
    """The checks, jobs, schedule and sensors for the assets of `defs` (not `defs` itself), from the datasets'
    declarations."""
    names = materializable_asset_names(defs)
    windows = freshness_windows(datasets, names, settings)
    partitioned = partitioned_asset_names(defs)
    # Per-account datasets carry their checks in their own op; the others get one check op each here.
    shape_checks = build_dataset_checks([datasets[n] for n in names if n not in partitioned])
    checks_job = dg.define_asset_job(
        "observability_checks_job",
        selection=dg.AssetSelection.all_asset_checks(),
        description="Every asset check alone, on what is cached now (no refresh)",
        # One process for all checks (seconds), not a subprocess per check op: the run holds every per-account
        # dataset's pool while it runs, so it must be short.
        executor_def=dg.in_process_executor,
    )
    interval = settings.observability.alerts.sensor_interval_seconds
    alerts = build_alert_sensor(windows, partitioned, interval_seconds=interval)
    return dg.Definitions(
        asset_checks=shape_checks,
        jobs=[checks_job],
        schedules=[
            dg.ScheduleDefinition(
                name="observability_checks_every_15_minutes",
                cron_schedule="*/15 * * * *",
                target=checks_job,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
        sensors=[
            alerts,
            consoleme_run_failure_alerts,
            build_metrics_sensor(names),
            build_cache_presence_sensor(defs, names),
        ],
    )


def with_observability(
    defs: dg.Definitions, settings: Settings | None = None, datasets: Mapping[str, Dataset] = DATASETS
) -> dg.Definitions:
    """`defs` with freshness policies on every asset, merged with the observability checks and sensors.
    Settings are read at load time (freshness policies are part of the definitions)."""
    settings = settings or load_settings()
    with warnings.catch_warnings():
        # map_asset_specs is marked preview in 1.13; it is the documented way to apply policies in bulk.
        warnings.simplefilter("ignore", dg.PreviewWarning if hasattr(dg, "PreviewWarning") else Warning)
        fresh = with_freshness(defs, datasets, settings)
    return dg.Definitions.merge(fresh, observability_defs(defs, settings, datasets))
