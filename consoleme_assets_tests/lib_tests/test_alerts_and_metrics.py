"""Sensors against a real Dagster instance, Redis and moto: time is driven with materialization timestamps and
a clock handed to the sensor; freshness changes are written as the FreshnessDaemon writes them."""

import json
import time

import boto3
import dagster as dg

from consoleme_assets.lib.checks import staleness_result
from consoleme_assets.lib.freshness import Window
from consoleme_assets.lib.observability import (
    build_alert_sensor,
    build_metrics_sensor,
    consoleme_run_failure_alerts,
)
from consoleme_assets_tests.catalog import DATASETS

from .support import config_file, materialize_at, resource, set_freshness, tick, webhook_receiver

A, B, C = "111111111111", "222222222222", "333333333333"
WINDOWS = {"s3_buckets": Window(60, 100), "aws_accounts": Window(80, 130)}


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


TASKS = {n: d.consoleme_tasks for n, d in DATASETS.items() if d.consoleme_tasks}


def test_stale_asset_alerts_once_and_recovers_once(instance, tmp_path):
    t0 = time.time()
    clock = Clock(t0)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["log", "webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor({"aws_accounts": WINDOWS["aws_accounts"]}, [], clock)
        materialize_at(instance, "aws_accounts", None, t0)
        set_freshness(instance, "aws_accounts", "PASS", t0)
        summary, cursor = tick(sensor, instance, None, consoleme)
        assert summary.startswith("0 alert") and received == []  # fresh: no alert
        clock.now = t0 + 85 * 60
        set_freshness(instance, "aws_accounts", "WARN", clock.now)
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary.startswith("1 alert")
        summary, cursor = tick(sensor, instance, cursor, consoleme)  # still stale a minute later: nothing new
        assert summary.startswith("0 alert")
        materialize_at(instance, "aws_accounts", None, clock.now)
        set_freshness(instance, "aws_accounts", "PASS", clock.now)
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary.startswith("1 alert")
    assert [(r["asset"], r["state"]) for r in received] == [("aws_accounts", "WARN"), ("aws_accounts", "PASS")]
    assert received[0]["url"] == "http://127.0.0.1:3000/assets/aws_accounts"
    assert "85 min old" in received[0]["message"]


def test_stale_account_among_fresh_ones_is_flagged(instance, tmp_path):
    t0 = time.time() - 3 * 3600
    instance.add_dynamic_partitions("aws_accounts", [A, B, C])
    for account in (A, B, C):
        materialize_at(instance, "s3_buckets", account, t0)
    for account in (A, C):  # B misses the next two refreshes
        materialize_at(instance, "s3_buckets", account, t0 + 90 * 60)
    clock = Clock(t0 + 110 * 60)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor(WINDOWS, ["s3_buckets"], clock)
        summary, cursor = tick(sensor, instance, None, consoleme)
        # The same view as the asset check (what the UI shows), judged at the same time.
        evaluation = staleness_result(instance, dg.AssetKey("s3_buckets"), WINDOWS["s3_buckets"], clock.now)
        assert not evaluation.passed and evaluation.metadata["failing_accounts"].value == [B]
        assert B in evaluation.description and A not in evaluation.description
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        materialize_at(instance, "s3_buckets", B, clock.now)
        summary, cursor = tick(sensor, instance, cursor, consoleme)
    # The asset is fresh (two accounts were refreshed 20 min ago); B alone is stale: one alert naming B.
    assert [(r["kind"], r["state"], r["accounts"]) for r in received] == [
        ("account_staleness", "FAIL", [B]),
        ("freshness", "PASS", [B]),
    ]
    assert "110 min old" in received[0]["message"] and A not in received[0]["message"]


def test_daemon_restart_one_alert_per_stale_asset_and_one_recovery(instance, tmp_path):
    """The daemon (and so the FreshnessDaemon and this sensor) stopped past the fail window: on restart the
    sensor may tick before Dagster re-evaluates (Dagster still says PASS) or after; either way one alert per
    asset, naming its accounts, and one recovery once Dagster (the UI) says PASS again."""
    t0 = time.time() - 4 * 3600
    instance.add_dynamic_partitions("aws_accounts", [A, B])
    for name, partitions in (("aws_accounts", [None]), ("s3_buckets", [A, B])):
        for partition in partitions:
            materialize_at(instance, name, partition, t0)
        set_freshness(instance, name, "PASS", t0)
    clock = Clock(t0 + 60)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor(WINDOWS, ["s3_buckets"], clock)
        summary, cursor = tick(sensor, instance, None, consoleme)
        assert summary == "0 alert(s) sent"
        clock.now = t0 + 200 * 60  # daemon back: Dagster's records still say PASS
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary == "2 alert(s) sent"
        for name in ("aws_accounts", "s3_buckets"):
            set_freshness(instance, name, "FAIL", clock.now)  # the FreshnessDaemon catches up
        clock.now += 60
        assert tick(sensor, instance, cursor, consoleme)[0] == "0 alert(s) sent"
        for name, partitions in (("aws_accounts", [None]), ("s3_buckets", [A, B])):
            for partition in partitions:
                materialize_at(instance, name, partition, clock.now)
        clock.now += 60  # refreshed, but Dagster (the UI) still says FAIL: not yet
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary == "0 alert(s) sent"
        for name in ("aws_accounts", "s3_buckets"):
            set_freshness(instance, name, "PASS", clock.now)
        clock.now += 60
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary == "2 alert(s) sent"
        clock.now += 60
        assert tick(sensor, instance, cursor, consoleme)[0] == "0 alert(s) sent"
    assert [(r["asset"], r["state"], r["accounts"]) for r in received] == [
        ("aws_accounts", "FAIL", []),
        ("s3_buckets", "FAIL", [A, B]),
        ("aws_accounts", "PASS", []),
        ("s3_buckets", "PASS", [A, B]),
    ]
    stale = received[1]
    assert f"{A} FAIL (3 h 20 min old)" in stale["message"] and "2 of 2 account(s) stale" in stale["message"]
    assert stale["url"] == "http://127.0.0.1:3000/assets/s3_buckets"


def test_new_install_is_not_stale_before_it_could_refresh(instance, tmp_path):
    """Partitions exist but nothing was materialized yet (a fresh `make dev`): no alert until the fail window
    has passed since the sensor first saw them; then one per asset, saying "never refreshed"."""
    t0 = time.time()
    instance.add_dynamic_partitions("aws_accounts", [A, B])
    clock = Clock(t0)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor({**WINDOWS, "aws_accounts": Window(120, 200)}, ["s3_buckets"], clock)
        summary, cursor = tick(sensor, instance, None, consoleme)
        assert summary == "0 alert(s) sent"
        clock.now = t0 + 50 * 60
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        assert summary == "0 alert(s) sent"
        materialize_at(instance, "s3_buckets", A, clock.now)  # A lands; B keeps failing
        clock.now = t0 + 101 * 60
        summary, cursor = tick(sensor, instance, cursor, consoleme)
    assert [(r["asset"], r["state"], r["accounts"]) for r in received] == [
        ("s3_buckets", "FAIL", [B])
    ]  # aws_accounts, first seen at t0 too, is not overdue before 120 min
    assert f"{B} FAIL (never refreshed)" in received[0]["message"]
    assert json.loads(cursor)["known"] == {"assets": {"aws_accounts": t0}, "accounts": {B: t0}}


def test_upgrade_from_the_first_cursor_format_does_not_resend(instance, tmp_path):
    t0 = time.time() - 3 * 3600
    materialize_at(instance, "aws_accounts", None, t0)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor({"aws_accounts": WINDOWS["aws_accounts"]}, [], Clock(time.time()))
        old = json.dumps({"assets": {"aws_accounts": "FAIL"}, "accounts": {}})
        summary, cursor = tick(sensor, instance, old, consoleme)
    assert summary == "0 alert(s) sent" and received == []
    assert json.loads(cursor)["assets"] == {"aws_accounts": {"level": "FAIL", "accounts": {}}}


def test_alert_reaching_no_notifier_is_sent_at_the_next_tick(instance, tmp_path):
    t0 = time.time() - 3 * 3600
    materialize_at(instance, "aws_accounts", None, t0)
    sensor = build_alert_sensor({"aws_accounts": WINDOWS["aws_accounts"]}, [], Clock(time.time()))
    with webhook_receiver() as (url, received):
        pass  # closed again: nothing listens there now
    down = resource(
        config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url, "webhook_timeout_seconds": 2}})
    )
    summary, cursor = tick(sensor, instance, json.dumps({"v": 2, "assets": {}}), down)
    assert summary == "0 alert(s) sent; 1 delivery error(s), 1 alert(s) to retry"
    with webhook_receiver() as (url, received):
        up = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        summary, cursor = tick(sensor, instance, cursor, up)
        assert summary == "1 alert(s) sent"
        assert tick(sensor, instance, cursor, up)[0] == "0 alert(s) sent"
    assert [(r["asset"], r["state"]) for r in received] == [("aws_accounts", "FAIL")]


def test_sns_delivery_reaches_a_subscribed_queue(instance, tmp_path, aws_env, moto):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="consoleme-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["sns"], "sns_topic_arn": topic}}))
    t0 = time.time()
    sensor = build_alert_sensor(WINDOWS, [], Clock(t0 + 3 * 3600))
    materialize_at(instance, "aws_accounts", None, t0)
    set_freshness(instance, "aws_accounts", "FAIL", t0 + 3 * 3600)
    summary, _ = tick(sensor, instance, None, consoleme)
    assert summary == "1 alert(s) sent"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    [envelope] = [json.loads(m["Body"]) for m in messages]
    alert = json.loads(envelope["Message"])
    assert envelope["Subject"] == "[consoleme-assets] aws_accounts: FAIL"
    assert (alert["asset"], alert["state"], alert["kind"]) == ("aws_accounts", "FAIL", "freshness")


def test_failed_run_alert_names_failed_accounts(instance, tmp_path):
    @dg.asset(partitions_def=dg.StaticPartitionsDefinition([A, B]))
    def s3_buckets():
        raise dg.Failure(
            description="1 of 2 accounts failed; their previous cache is kept: 222222222222: boom",
            metadata={"failed_accounts": dg.MetadataValue.json({B: "boom"})},
        )

    result = dg.materialize([s3_buckets], instance=instance, partition_key=B, raise_on_error=False)
    assert not result.success
    [alert] = failure_alerts(instance, result, tmp_path)
    assert alert["asset"] == "s3_buckets" and alert["accounts"] == [B]
    assert alert["url"] == f"http://127.0.0.1:3000/runs/{result.run_id}"


def test_failed_run_alert_names_the_regions_that_failed(instance, tmp_path):
    """SQS in one region failing for A (A lands, that region keeps its cached queues) while B fails in every
    region (B fails the step): the run's alert names B with its regions, and A's failed region; the
    materialization metadata of A names the region too (lib.account_refresh.describe_listing)."""
    from consoleme_assets.aws.inventory import RegionalListing
    from consoleme_assets.aws.regions import AllRegionsFailed
    from consoleme_assets.lib.account_refresh import describe_listing, refresh_accounts

    throttled = "ListQueues: RequestThrottled: slow down"
    denied = "ListQueues: AccessDenied: not authorized"

    @dg.asset(
        partitions_def=dg.DynamicPartitionsDefinition(name="aws_accounts"),
        output_required=False,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def sqs_queues(context: dg.AssetExecutionContext):
        def collect(account: str) -> RegionalListing:
            if account == B:
                raise AllRegionsFailed(B, "SQS queues", {"us-east-1": denied, "us-west-2": denied})
            failed = {"us-west-2": throttled} if account == A else {}
            return RegionalListing(account, [f"arn:aws:sqs:us-east-1:{account}:q"], ["us-east-1", "us-west-2"], failed)

        yield from refresh_accounts(context, collect, lambda account, records: {}, 2, describe=describe_listing)

    instance.add_dynamic_partitions("aws_accounts", [A, B, C])
    result = dg.materialize(
        [sqs_queues],
        instance=instance,
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": A, "dagster/asset_partition_range_end": C},
    )
    assert not result.success
    landed = {m.partition: m.metadata for m in result.asset_materializations_for_node("sqs_queues")}
    assert sorted(landed) == [A, C] and landed[A]["regions_failed"].value == {"us-west-2": throttled}
    [alert] = failure_alerts(instance, result, tmp_path)
    assert alert["asset"] == "sqs_queues" and alert["accounts"] == [B]
    text = alert["message"]
    assert f"sqs_queues failed for account(s) {B}" in text
    assert f"us-east-1: {denied}" in text and f"us-west-2: {denied}" in text  # B's regions, from the step failure
    assert f"regions that failed (previous entries kept): {A} us-west-2: {throttled}" in text
    assert alert["details"]["regional_errors"] == {A: {"us-west-2": throttled}}


def test_compatibility_keys_written(instance, tmp_path, aws_env, redis_client):
    t0 = time.time()
    consoleme = resource(config_file(tmp_path, {"compatibility_keys": {"enabled": True}, "metrics": {"sink": "none"}}))
    materialize_at(instance, "s3_buckets", A, t0 - 600)
    materialize_at(instance, "aws_accounts", None, t0 - 60)
    sensor = build_metrics_sensor(["aws_accounts", "s3_buckets", "policies_table"], TASKS, Clock(t0))
    tick(sensor, instance, None, consoleme)
    p = "consoleme.celery_tasks.celery_tasks."
    assert redis_client.get(p + "cache_s3_buckets_across_accounts.last_success") == str(int(t0 - 600))
    assert redis_client.get(p + "cache_s3_buckets_for_account.last_success") == str(int(t0 - 600))
    assert redis_client.get(p + "cache_cloud_account_mapping.last_success") == str(int(t0 - 60))
    assert redis_client.get(p + "cache_cloud_account_mapping.time_since_last_success") == "60"
    assert redis_client.get(p + "report_celery_last_success_metrics.last_success") == str(int(t0))
    off = resource(config_file(tmp_path, {"metrics": {"sink": "none"}}))  # default: off
    redis_client.flushall()
    tick(sensor, instance, None, off)
    assert redis_client.keys("consoleme.celery_tasks.*") == []


def test_cloudwatch_metrics_per_asset_and_account(instance, tmp_path, aws_env, moto):
    t0 = time.time()
    consoleme = resource(config_file(tmp_path, {"metrics": {"sink": "cloudwatch"}}))
    sensor = build_metrics_sensor(["s3_buckets"], TASKS, Clock(t0))
    materialize_at(instance, "s3_buckets", A, t0 - 30, {"dagster/row_count": 4, "fetch_seconds": 1.5})
    summary, cursor = tick(sensor, instance, None, consoleme)
    assert summary == "4 metric(s) emitted"  # materializations, rows, fetch_seconds, time_since_last_success
    summary, cursor = tick(sensor, instance, cursor, consoleme)
    assert summary == "1 metric(s) emitted"  # nothing new: only the gauge
    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="ConsoleMe")["Metrics"]
    found = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed}
    assert ("rows", (("Account", A), ("Asset", "s3_buckets"))) in found
    assert ("fetch_seconds", (("Account", A), ("Asset", "s3_buckets"))) in found
    assert ("time_since_last_success", (("Asset", "s3_buckets"),)) in found


def failure_alerts(instance, result, tmp_path) -> list[dict]:
    """What consoleme_run_failure_alerts posts to a webhook for the failed run `result`."""
    run = instance.get_run_by_id(result.run_id)
    failure_event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        with dg.build_run_status_sensor_context(
            sensor_name="consoleme_run_failure_alerts",
            dagster_event=failure_event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"consoleme": consoleme},
        ) as status_context:
            consoleme_run_failure_alerts(status_context.for_run_failure())
    return list(received)


def test_alert_sensor_interval_comes_from_the_settings(tmp_path):
    """consoleme_assets.alerts.sensor_interval_seconds sets how often Dagster runs the alert sensor (60 s when
    unset); under Dagster's 5-second sensor loop it is refused, naming the key."""
    import pytest

    from consoleme_assets.lib.definitions import definitions_from
    from consoleme_assets.settings import SettingsError, load_settings

    def interval(alerts: dict) -> int:
        settings = load_settings(config_file(tmp_path, {"alerts": alerts}), env={})
        defs = definitions_from(list(DATASETS.values()), settings=settings)
        return defs.resolve_sensor_def("consoleme_alerts_sensor").minimum_interval_seconds

    assert interval({}) == 60
    assert interval({"sensor_interval_seconds": 5}) == 5
    with pytest.raises(SettingsError, match="sensor_interval_seconds"):
        interval({"sensor_interval_seconds": 1})
