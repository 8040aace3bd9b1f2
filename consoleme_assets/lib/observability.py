"""Sensors replacing report_celery_last_success_metrics: alerts on freshness and per-account staleness changes,
alerts on failed runs, and metrics (+ ConsoleMe's compatibility keys) from new materializations. Decisions are
in alerts.py / compat.py / metrics.py; these only read the instance, send, and keep the cursor."""

import json
import time
from collections.abc import Callable
from typing import Any

import dagster as dg

from ..aws.publish import cloudwatch_putter, sns_publisher
from .alerts import BAD, Alert, AssetStatus, asset_alerts, next_memo, run_failure_alerts, worst
from .compat import compat_values, write_compat_keys
from .freshness import Window
from .metrics import Metric, build_sink, metrics_for_materialization
from .notifiers import build_notifiers, deliver
from .partitions import aws_accounts_partitions
from .resources import ConsoleMeResource
from .staleness import PAGE, account_states, level_for_age

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
    return build_notifiers(settings, lambda topic_arn: sns_publisher(consoleme.sessions, topic_arn), logger)


CURSOR_VERSION = 2
# After a refresh, wait this long at most for Dagster's freshness state (what the UI shows; re-evaluated every
# ~30 s) to agree before announcing the recovery; past it Dagster's state is ignored (FreshnessDaemon off).
SETTLE_SECONDS = 300


def load_alert_cursor(raw: str | None) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float]]]:
    """({asset: AssetStatus.memo()}, {"assets": {asset: first seen}, "accounts": {account: first seen}}).
    Reads the first cursor format too ({"assets": {asset: state}, "accounts": {asset: {account: level}}}), so an
    upgrade does not re-send what was already sent."""
    data = json.loads(raw) if raw else {}
    known = data.get("known") or {}
    known = {"assets": dict(known.get("assets") or {}), "accounts": dict(known.get("accounts") or {})}
    if data.get("v") == CURSOR_VERSION:
        return dict(data.get("assets") or {}), known
    memo = {}
    old_accounts = data.get("accounts") or {}
    for asset in set(data.get("assets") or {}) | set(old_accounts):
        accounts = {a: lv for a, lv in (old_accounts.get(asset) or {}).items() if lv in BAD}
        memo[asset] = {"level": worst((data.get("assets") or {}).get(asset), *accounts.values()), "accounts": accounts}
    return memo, known


def asset_statuses(
    instance: dg.DagsterInstance,
    windows: dict[str, Window],
    partitioned: list[str],
    now: float,
    known: dict[str, dict[str, float]],
) -> tuple[dict[str, AssetStatus], dict[str, dict[str, float]], list[str]]:
    """Every asset's state now, the first-seen times to keep (never-materialized assets and accounts only), and
    the current account partitions. The state is judged here, from the last materializations and the windows
    (the FreshnessDaemon's rule, at this tick's time, so it does not matter which of the two ran first after a
    daemon restart); an asset refreshed since Dagster last said WARN/FAIL is left out until Dagster agrees."""
    keys = [dg.AssetKey.from_user_string(n) for n in sorted(windows)]
    dagster_states = {
        k.to_user_string(): r.freshness_state.value for k, r in instance.get_freshness_state_records(keys).items()
    }
    last = _last_materialized(instance, keys)
    # Every per-account dataset shares the account partitions (partitions.py).
    accounts = instance.get_dynamic_partitions(aws_accounts_partitions.name) if partitioned else []
    known_accounts = {a: known["accounts"].get(a, now) for a in accounts}
    keep: dict[str, dict[str, float]] = {"assets": {}, "accounts": {}}
    out = {}
    for name in sorted(windows):
        window = windows[name]
        if last[name] is None:  # judged from when first seen: not stale before a first refresh could run
            keep["assets"][name] = known["assets"].get(name, now)
            age, asset_level = None, level_for_age(now - keep["assets"][name], window)
        else:
            age = max(0.0, now - last[name])
            asset_level = level_for_age(age, window)
            if asset_level == "PASS" and dagster_states.get(name) in BAD and age < SETTLE_SECONDS:
                continue  # refreshed, but the FreshnessDaemon (the UI) has not seen it yet: decide next tick
        stale: dict[str, tuple[str, float | None]] = {}
        total = None
        if name in partitioned:
            key = dg.AssetKey.from_user_string(name)
            found = account_states(instance, key, accounts, window, now, known_accounts)
            stale = {a: (st.level, st.age_seconds) for a, st in found.items() if st.level in BAD}
            keep["accounts"].update({a: known_accounts[a] for a, st in found.items() if st.age_seconds is None})
            total = len(accounts)
        level = worst(asset_level, *(lv for lv, _ in stale.values()))
        out[name] = AssetStatus(level, asset_level, age, stale, total, window.warn_minutes, window.fail_minutes)
    return out, keep, accounts


def build_alert_sensor(
    windows: dict[str, Window],
    partitioned: list[str],
    clock: Callable[[], float] = time.time,
    interval_seconds: int = 60,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="consoleme_alerts_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One alert per asset and freshness change (asset or its accounts WARN/FAIL, recovered)",
    )
    def consoleme_alerts_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
        now = clock()
        previous, known = load_alert_cursor(context.cursor)
        statuses, keep, accounts = asset_statuses(context.instance, windows, partitioned, now, known)
        current_partitions = set(accounts)
        for memo in previous.values():  # accounts that left the partitions are dropped silently
            memo["accounts"] = {a: lv for a, lv in (memo.get("accounts") or {}).items() if a in current_partitions}
        alerts = asset_alerts(previous, statuses, consoleme.settings.observability.ui_base_url)
        undelivered: list[Alert] = []
        errors = deliver(alerts, _notifiers(consoleme, context.log), context.log, undelivered) if alerts else []
        alerted = {alert.asset for alert in alerts}
        memo = {name: next_memo(previous.get(name), status, name in alerted) for name, status in statuses.items()}
        memo.update({name: previous[name] for name in windows if name not in statuses and name in previous})
        for alert in undelivered:  # reached no notifier: keep the old state so the next tick sends it again
            if alert.asset in previous:
                memo[alert.asset] = previous[alert.asset]
            else:
                memo.pop(alert.asset, None)
        cursor = {"v": CURSOR_VERSION, "assets": memo, "known": keep}
        summary = f"{len(alerts) - len(undelivered)} alert(s) sent" + (
            f"; {len(errors)} delivery error(s), {len(undelivered)} alert(s) to retry" if errors else ""
        )
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


def regional_errors_of_run(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, dict[str, str]]]:
    """{asset: {account: {region: error}}} from the run's materializations whose `regions_failed` metadata is not
    empty (SQS/SNS/Config accounts that landed with some regions failing; those regions kept their entries)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        failed = getattr(mat.metadata.get("regions_failed"), "value", None) if mat else None
        if failed:
            out.setdefault(mat.asset_key.to_user_string(), {})[mat.partition or ""] = dict(failed)
    return out


@dg.run_failure_sensor(
    name="consoleme_run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One alert per failed run (per failed asset step), naming the failed accounts and regions",
)
def consoleme_run_failure_alerts(context: dg.RunFailureSensorContext, consoleme: ConsoleMeResource):
    run = context.dagster_run
    failures = failures_of_run(context.get_step_failure_events())
    if failures:
        regional = regional_errors_of_run(context.instance, run.run_id)
        for failure in failures:
            failure["regional_errors"] = regional.get(failure["asset"], {})
    alerts = run_failure_alerts(run.run_id, run.job_name, failures, consoleme.settings.observability.ui_base_url)
    deliver(alerts, _notifiers(consoleme, context.log), context.log)
    metrics = [
        Metric("refresh_failures", 1, "Count", {"Asset": f["asset"], **({"Account": a} if a else {})})
        for f in failures
        for a in (sorted(f["failed_accounts"]) or [None])
    ]
    if metrics:
        _sink(consoleme, context.log).emit(metrics)


def _sink(consoleme: ConsoleMeResource, logger: Any):
    settings = consoleme.settings.observability.metrics
    put = cloudwatch_putter(consoleme.sessions) if settings.sink == "cloudwatch" else None
    return build_sink(settings.sink, settings.cloudwatch_namespace, put, logger)


def _metadata_values(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def build_metrics_sensor(
    asset_names: list[str], tasks_by_asset: dict[str, tuple[str, ...]], clock: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    """`tasks_by_asset`: the ConsoleMe tasks each asset replaces (their compatibility keys), from the declarations."""

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
            write_compat_keys(consoleme.caches(), compat_values(last, now, tasks_by_asset))
        return dg.SensorResult(
            skip_reason=f"{len(metrics)} metric(s) emitted", cursor=json.dumps(cursor, sort_keys=True)
        )

    return consoleme_metrics_sensor
