"""Sensors against a real Dagster instance, Redis and moto: time is driven with materialization timestamps and
a clock handed to the sensor; freshness changes are written as the FreshnessDaemon writes them."""

import json
import time

import boto3
import dagster as dg

from consoleme_assets.observability.checks import build_staleness_check
from consoleme_assets.observability.freshness import Window
from consoleme_assets.observability.sensors import (
    build_alert_sensor,
    build_metrics_sensor,
    consoleme_run_failure_alerts,
)

from .support import config_file, materialize_at, resource, set_freshness, tick, webhook_receiver

A, B, C = "111111111111", "222222222222", "333333333333"
WINDOWS = {"s3_buckets": Window(60, 100), "aws_accounts": Window(80, 130)}


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_stale_asset_alerts_once_and_recovers_once(instance, tmp_path):
    t0 = time.time()
    clock = Clock(t0)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["log", "webhook"], "webhook_url": url}}))
        sensor = build_alert_sensor(WINDOWS, [], clock)
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
        # The same view as an asset check (what the UI shows), via the check job.
        check = build_staleness_check(WINDOWS, ["s3_buckets"], Clock(t0 + 110 * 60))
        spec = dg.AssetSpec("s3_buckets", partitions_def=dg.DynamicPartitionsDefinition(name="aws_accounts"))
        result = dg.materialize([spec, check], instance=instance, selection=dg.AssetSelection.checks(check))
        [evaluation] = result.get_asset_check_evaluations()
        assert not evaluation.passed and evaluation.metadata["failing_accounts"].value == [B]
        assert B in evaluation.description and A not in evaluation.description
        summary, cursor = tick(sensor, instance, cursor, consoleme)
        materialize_at(instance, "s3_buckets", B, clock.now)
        summary, cursor = tick(sensor, instance, cursor, consoleme)
    assert [(r["kind"], r["state"], r["accounts"]) for r in received] == [
        ("account_staleness", "FAIL", [B]), ("account_staleness", "PASS", [B])]
    assert "110 min old" in received[0]["message"]


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
        raise dg.Failure(description="1 of 2 accounts failed; their previous cache is kept: 222222222222: boom",
                         metadata={"failed_accounts": dg.MetadataValue.json({B: "boom"})})

    result = dg.materialize([s3_buckets], instance=instance, partition_key=B, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure_event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    with webhook_receiver() as (url, received):
        consoleme = resource(config_file(tmp_path, {"alerts": {"notifiers": ["webhook"], "webhook_url": url}}))
        with dg.build_run_status_sensor_context(
            sensor_name="consoleme_run_failure_alerts", dagster_event=failure_event, dagster_instance=instance,
            dagster_run=run, resources={"consoleme": consoleme},
        ) as status_context:
            consoleme_run_failure_alerts(status_context.for_run_failure())
    [alert] = received
    assert alert["asset"] == "s3_buckets" and alert["accounts"] == [B]
    assert alert["url"] == f"http://127.0.0.1:3000/runs/{result.run_id}"


def test_compatibility_keys_written(instance, tmp_path, aws_env, redis_client):
    t0 = time.time()
    consoleme = resource(config_file(tmp_path, {"compatibility_keys": {"enabled": True}, "metrics": {"sink": "none"}}))
    materialize_at(instance, "s3_buckets", A, t0 - 600)
    materialize_at(instance, "aws_accounts", None, t0 - 60)
    sensor = build_metrics_sensor(["aws_accounts", "s3_buckets", "policies_table"], Clock(t0))
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
    sensor = build_metrics_sensor(["s3_buckets"], Clock(t0))
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
