"""The CloudTrail denies queue end to end against the moto server and Redis: the sandbox's seeded queue ->
consoleme_cloudtrail -> CLOUDTRAIL_ERRORS_BY_ARN, the sensor, and bad input (missing queue, refused queue,
failed write)."""

import json
import time

import boto3
import dagster as dg
import pytest
from botocore.stub import Stubber

from consoleme_assets.aws.sqs import QueueError, parse_queue_arn, queue_url
from consoleme_assets.cloudtrail.sensors import cloudtrail_denies_sensor
from consoleme_assets.definitions import build_resources
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.sandbox.seed_events import cloudtrail_event
from consoleme_assets_tests.catalog import cloudtrail_denies, cloudtrail_errors_by_arn

TABLE = "consoleme_cloudtrail"


@pytest.fixture
def partitions(instance, demo_org):
    instance.add_dynamic_partitions("aws_accounts", sorted(demo_org.accounts))


def run(instance, resources):
    return dg.materialize(
        [cloudtrail_denies, cloudtrail_errors_by_arn], instance=instance, resources=resources, raise_on_error=False
    )


def queue_counts(demo_org):
    queue = parse_queue_arn(demo_org.cloudtrail_denies_queue)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"]), url


def table_items():
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    return {
        i["request_id"]["S"]: {k: d.deserialize(v) for k, v in i.items()}
        for i in boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    }


def config(tmp_path, sandbox_env, text):
    path = tmp_path / "denies.yaml"
    path.write_text(f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n{text}")
    return str(path)


def test_seeded_queue_fills_the_table_and_the_counts(
    sandbox_env, demo_org, partitions, instance, resources, redis_client
):
    prod = next(a for a, n in demo_org.accounts.items() if n == "demo-prod")
    staging = next(a for a, n in demo_org.accounts.items() if n == "demo-staging")
    result = run(instance, resources)
    assert result.success

    items = table_items()
    app, worker = f"arn:aws:iam::{prod}:role/demo-app", f"arn:aws:iam::{staging}:role/service/demo-worker"
    s3_id = f"{app}-alice@example.com-s3:GetObject-arn:aws:s3:::demo-prod-assets/reports/q3.csv"
    assert set(items) == {
        s3_id,
        f"{worker}-i-0abc123-ec2:RunInstances-arn:aws:ec2:us-east-1:{staging}:subnet/subnet-0123456789",
        f"arn:aws:iam::{prod}:role/service/demo-worker-job-42-sqs:SendMessage-*",
    }
    s3 = items[s3_id]
    assert s3["count"] == 2  # the same deny twice (once through SNS)
    assert s3["arn"] == app and s3["session_name"] == "alice@example.com" and s3["event_call"] == "s3:GetObject"
    assert s3["ttl"] == s3["epoch_event_time"] + 86400
    assert s3["generated_policy"] == {
        "Statement": [
            {
                "Action": ["s3:GetObject"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::demo-prod-assets/reports/q3.csv"],
            }
        ],
        "Version": "2012-10-17",
    }
    assert not any("generated_policy" in i for i in items.values() if i["error_code"] == "ThrottlingException")

    assert json.loads(redis_client.get("CLOUDTRAIL_ERRORS_BY_ARN")) == {
        app: 2,
        f"arn:aws:iam::{prod}:role/service/demo-worker": 1,
        worker: 1,
    }
    assert queue_counts(demo_org)[:2] == (0, 0)  # everything deleted, rejected messages included

    meta = result.asset_materializations_for_node("cloudtrail_denies")[0].metadata
    assert meta["messages_received"].value == 9
    assert meta["items_written"].value == 3 and meta["new_items"].value == 3
    assert meta["rejected_by_reason"].value == {
        "no_detail": 1,
        "no_principal": 1,
        "not_json": 1,
        "too_old": 1,
        "unknown_account": 1,
    }
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if "rejected and deleted" in e.user_message]
    assert len(warnings) == 5
    assert any(
        "999999999999 is not an account partition" in w and demo_org.cloudtrail_denies_queue in w for w in warnings
    )

    # A later event for a known deny: only that item is written, its count goes on.
    _, _, url = queue_counts(demo_org)
    event = cloudtrail_event(
        prod,
        "demo-app",
        "alice@example.com",
        "s3.amazonaws.com",
        "GetObject",
        "AccessDenied",
        "x on resource: arn:aws:s3:::demo-prod-assets/reports/q3.csv",
        time.time() - 5,
    )
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(event))
    second = run(instance, resources)
    assert second.success
    meta = second.asset_materializations_for_node("cloudtrail_denies")[0].metadata
    assert meta["items_written"].value == 1 and meta["new_items"].value == 0
    assert table_items()[s3_id]["count"] == 3
    assert json.loads(redis_client.get("CLOUDTRAIL_ERRORS_BY_ARN"))[app] == 3


def test_failed_write_leaves_the_messages_in_the_queue(sandbox_env, demo_org, partitions, instance, resources):
    boto3.client("dynamodb").delete_table(TableName=TABLE)
    result = run(instance, resources)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "DynamoDB table consoleme_cloudtrail" in error
    visible, in_flight, _ = queue_counts(demo_org)
    assert in_flight >= 1 and visible + in_flight >= 8  # nothing with a good item was deleted


def test_missing_queue_fails_the_run_naming_it(sandbox_env, demo_org, partitions, instance, tmp_path):
    cfg = config(
        tmp_path,
        sandbox_env,
        "event_bridge:\n  detect_cloudtrail_denies_and_update_cache:\n"
        "    queue_arn: arn:aws:sqs:us-east-1:123456789012:nope\n",
    )
    result = dg.materialize(
        [cloudtrail_denies], instance=instance, resources=build_resources(cfg), raise_on_error=False
    )
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "SQS queue arn:aws:sqs:us-east-1:123456789012:nope: GetQueueUrl: " in error
    assert "NonExistentQueue" in error or "QueueDoesNotExist" in error


def test_disabled_or_without_partitions_the_asset_leaves_the_queue(
    sandbox_env, demo_org, instance, resources, tmp_path
):
    result = dg.materialize([cloudtrail_denies], instance=instance, resources=resources)
    assert (
        "no account partitions"
        in result.asset_materializations_for_node("cloudtrail_denies")[0].metadata["skipped"].value
    )  # else every event would be rejected as an unknown account and lost
    instance.add_dynamic_partitions("aws_accounts", sorted(demo_org.accounts))
    cfg = config(tmp_path, sandbox_env, "celery:\n  cache_cloudtrail_denies:\n    enabled: false\n")
    result = dg.materialize([cloudtrail_denies], instance=instance, resources=build_resources(cfg))
    assert result.asset_materializations_for_node("cloudtrail_denies")[0].metadata["skipped"].value == (
        "celery.cache_cloudtrail_denies.enabled is not true"
    )
    assert queue_counts(demo_org)[:2] == (9, 0)


def sensor_tick(instance, config_file=None, cursor=None):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"consoleme": ConsoleMeResource(config_file=config_file)}
    ) as context:
        return cloudtrail_denies_sensor(context), context


def test_sensor_launches_a_run_only_when_messages_wait(sandbox_env, demo_org, instance, resources):
    result, _ = sensor_tick(instance)
    assert isinstance(result, dg.SkipReason) and "no account partitions" in result.skip_message
    instance.add_dynamic_partitions("aws_accounts", sorted(demo_org.accounts))
    result, _ = sensor_tick(instance)
    assert isinstance(result, dg.RunRequest)
    assert run(instance, resources).success
    result, _ = sensor_tick(instance)
    assert (
        isinstance(result, dg.SkipReason)
        and result.skip_message == f"no messages on {demo_org.cloudtrail_denies_queue}"
    )


def test_sensor_skips_when_disabled_or_the_queue_is_missing(sandbox_env, demo_org, partitions, instance, tmp_path):
    off = config(tmp_path, sandbox_env, "celery:\n  cache_cloudtrail_denies:\n    enabled: false\n")
    result, _ = sensor_tick(instance, off)
    assert result.skip_message == "celery.cache_cloudtrail_denies.enabled is not true"

    missing = config(
        tmp_path,
        sandbox_env,
        "event_bridge:\n  detect_cloudtrail_denies_and_update_cache:\n"
        "    queue_arn: arn:aws:sqs:{region}:123456789012:gone\n",
    )
    result, _ = sensor_tick(instance, missing)
    message = result.skip_reason.skip_message
    assert "SQS queue arn:aws:sqs:us-east-1:123456789012:gone: GetQueueUrl" in message
    assert result.cursor == message  # logged once; the next tick with the same problem stays quiet
    again, _ = sensor_tick(instance, missing, cursor=result.cursor)
    assert again.skip_reason.skip_message == message and again.cursor == message


def test_access_denied_on_the_queue_is_a_queue_error_naming_it():
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    queue = parse_queue_arn("arn:aws:sqs:us-east-1:111122223333:denies")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_queue_url", service_error_code="AccessDenied", service_message="not allowed", http_status_code=403
        )
        with pytest.raises(QueueError) as raised:
            queue_url(client, queue)
    assert (
        str(raised.value)
        == "SQS queue arn:aws:sqs:us-east-1:111122223333:denies: GetQueueUrl: AccessDenied: not allowed"
    )
    with pytest.raises(ValueError, match="queue ARN 'arn:aws:sns:us-east-1:111122223333:topic' is not arn:"):
        parse_queue_arn("arn:aws:sns:us-east-1:111122223333:topic")
