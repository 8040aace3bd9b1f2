"""Sensors replacing report_celery_last_success_metrics: alerts on freshness and per-account staleness changes,
alerts on failed runs, and metrics (+ ConsoleMe's compatibility keys) from new materializations. Decisions are
in alerts.py / compat.py / metrics.py; these only read the instance, send, and keep the cursor."""


import json
import time
from collections.abc import Callable
from typing import Any

import dagster as dg

from ..partitions import aws_accounts_partitions
from ..resources import ConsoleMeResource
from .alerts import account_alerts, bad_only, freshness_alerts, run_failure_alerts
from .compat import compat_values, write_compat_keys
from .freshness import Window
from .metrics import Metric, build_sink, metrics_for_materialization
from .notifiers import build_notifiers, deliver
from .staleness import PAGE, account_states

METRICS_PAGES_PER_TICK = 5  # per asset; a backlog is worked off over several ticks
FIRST_TICK_LOOKBACK_SECONDS = 3600  # without a cursor, report the last hour rather than all history


def _last_materialized(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[str, float | None]:
    out: dict[str, float | None] = {k.to_user_string(): None for k in keys}
    for record in instance.get_asset_records(keys):
        last = record.asset_entry.last_materialization
        if last is not None:
            out[record.asset_entry.asset_key.to_user_string()] = last.timestamp
    return out


def _notifiers(consoleme: ConsoleMeResource, logger: Any):
    settings = consoleme.settings.observability.alerts
    return build_notifiers(settings, lambda region: consoleme.sessions.client("sns", region=region), logger)


def build_alert_sensor(
    windows: dict[str, Window], partitioned: list[str], clock: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    @dg.sensor(
        name="consoleme_alerts_sensor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One alert per freshness change (asset WARN/FAIL/recovered) and per-account staleness change",
    )
    def consoleme_alerts_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
        now = clock()
        instance = context.instance
        previous = json.loads(context.cursor) if context.cursor else {"assets": {}, "accounts": {}}
        keys = [dg.AssetKey.from_user_string(n) for n in sorted(windows)]
        records = instance.get_freshness_state_records(keys)
        states = {k.to_user_string(): r.freshness_state.value for k, r in records.items()}
        last = _last_materialized(instance, keys)
        ages = {n: (None if t is None else now - t) for n, t in last.items()}

        levels: dict[str, dict[str, str]] = {}
        account_ages: dict[str, dict[str, float | None]] = {}
        for name in partitioned:
            key = dg.AssetKey.from_user_string(name)
            # Every per-account dataset shares the account partitions (partitions.py).
            accounts = instance.get_dynamic_partitions(aws_accounts_partitions.name)
            found = account_states(instance, key, accounts, windows[name], now)
            levels[name] = {a: s.level for a, s in found.items()}
            account_ages[name] = {a: s.age_seconds for a, s in found.items()}

        base = consoleme.settings.observability.ui_base_url
        alerts = freshness_alerts(previous.get("assets", {}), states, ages, base)
        alerts += account_alerts(previous.get("accounts", {}), levels, account_ages, base)
        errors = deliver(alerts, _notifiers(consoleme, context.log), context.log) if alerts else []
        cursor = {"assets": states, "accounts": {n: bad_only(lv) for n, lv in levels.items()}}
        summary = f"{len(alerts)} alert(s) sent" + (f"; {len(errors)} delivery error(s)" if errors else "")
        return dg.SensorResult(skip_reason=summary, cursor=json.dumps(cursor, sort_keys=True))

    return consoleme_alerts_sensor


def failures_of_run(step_failure_events: list[dg.DagsterEvent]) -> list[dict[str, Any]]:
    """[{asset, error, failed_accounts}] from a run's step failures (the step key is the asset's op name)."""
    out = []
    for event in step_failure_events:
        data = event.step_failure_data
        user = data.user_failure_data if data else None
        failed = {}
        if user is not None and "failed_accounts" in (user.metadata or {}):
            failed = user.metadata["failed_accounts"].value or {}
        error = (user.description if user and user.description else None) or (
            f"{data.error.cls_name}: {data.error.message.strip()}" if data and data.error else None
        )
        out.append({"asset": event.step_key, "error": error, "failed_accounts": failed})
    return out


@dg.run_failure_sensor(
    name="consoleme_run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One alert per failed run (per failed asset step), naming the failed accounts",
)
def consoleme_run_failure_alerts(context: dg.RunFailureSensorContext, consoleme: ConsoleMeResource):
    run = context.dagster_run
    failures = failures_of_run(context.get_step_failure_events())
    alerts = run_failure_alerts(run.run_id, run.job_name, failures, consoleme.settings.observability.ui_base_url)
    deliver(alerts, _notifiers(consoleme, context.log), context.log)
    metrics = [
        Metric("refresh_failures", 1, "Count", {"Asset": f["asset"], **({"Account": a} if a else {})})
        for f in failures for a in (sorted(f["failed_accounts"]) or [None])
    ]
    if metrics:
        _sink(consoleme, context.log).emit(metrics)


def _sink(consoleme: ConsoleMeResource, logger: Any):
    settings = consoleme.settings.observability.metrics
    client = consoleme.sessions.client("cloudwatch") if settings.sink == "cloudwatch" else None
    return build_sink(settings.sink, settings.cloudwatch_namespace, client, logger)


def _metadata_values(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def build_metrics_sensor(asset_names: list[str], clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    @dg.sensor(
        name="consoleme_metrics_sensor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Metrics per asset and account from new materializations; ConsoleMe's last_success keys",
    )
    def consoleme_metrics_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
        now = clock()
        instance = context.instance
        cursor: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        keys = [dg.AssetKey.from_user_string(n) for n in asset_names]
        metrics: list[Metric] = []
        for key in keys:
            name = key.to_user_string()
            after = cursor.get(name)
            records_filter = dg.AssetRecordsFilter(
                asset_key=key,
                after_storage_id=after,
                after_timestamp=None if after is not None else now - FIRST_TICK_LOOKBACK_SECONDS,
            )
            page_cursor = None
            for _ in range(METRICS_PAGES_PER_TICK):
                result = instance.fetch_materializations(records_filter, limit=PAGE, cursor=page_cursor, ascending=True)
                for record in result.records:
                    mat = record.asset_materialization
                    metrics += metrics_for_materialization(
                        name, mat.partition, _metadata_values(mat.metadata), record.timestamp
                    )
                    cursor[name] = max(cursor.get(name, 0), record.storage_id)
                if not result.has_more:
                    break
                page_cursor = result.cursor
        last = _last_materialized(instance, keys)
        metrics += [
            Metric("time_since_last_success", now - t, "Seconds", {"Asset": n}, now) for n, t in last.items() if t
        ]
        _sink(consoleme, context.log).emit(metrics)
        if consoleme.settings.observability.compatibility_keys:
            write_compat_keys(consoleme.redis_client, compat_values(last, now))
        return dg.SensorResult(skip_reason=f"{len(metrics)} metric(s) emitted", cursor=json.dumps(cursor, sort_keys=True))

    return consoleme_metrics_sensor
