"""`cloudtrail_errors_by_arn` end to end: consoleme_cloudtrail in moto -> CLOUDTRAIL_ERRORS_BY_ARN (SETEX 86400)."""

import json
import time

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets_tests.catalog import cloudtrail_errors_by_arn
from consoleme_assets_tests.cloudtrail_tests.plugin_dist import PLUGIN_SOURCE, install_plugin_dist

TABLE = "consoleme_cloudtrail"
KEY = "CLOUDTRAIL_ERRORS_BY_ARN"


def materialize(instance, resources):
    return dg.materialize([cloudtrail_errors_by_arn], instance=instance, resources=resources, raise_on_error=False)


def put_errors(demo_org):
    """Items as ConsoleMe's cache_cloudtrail_denies writes them (numbers as N), live and expired."""
    now = int(time.time())
    prod, staging = demo_org.member_account_ids[:2]
    app, worker = f"arn:aws:iam::{prod}:role/demo-app", f"arn:aws:iam::{staging}:role/service/demo-worker"
    gone = f"arn:aws:iam::{prod}:role/demo-admin"
    rows = [
        (app, "s3:PutObject", 3, now + 3600),
        (app, "sqs:SendMessage", 2, now + 86400),
        (app, "iam:PassRole", 40, now - 3600),  # expired, DynamoDB has not deleted it yet
        (worker, "sns:Publish", 1, now + 600),
        (gone, "ec2:RunInstances", 7, now - 10),  # only expired errors: absent from the counts
    ]
    client = boto3.client("dynamodb")
    for arn, call, count, ttl in rows:
        client.put_item(
            TableName=TABLE,
            Item={
                "arn": {"S": arn},
                "request_id": {"S": f"{arn}-session-{call}-*"},
                "event_call": {"S": call},
                "resource": {"S": "*"},
                "error_code": {"S": "AccessDenied"},
                "session_name": {"S": "session"},
                "count": {"N": str(count)},
                "ttl": {"N": str(ttl)},
                "epoch_event_time": {"N": str(now - 60)},
            },
        )
    client.put_item(
        TableName=TABLE,
        Item={"arn": {"S": worker}, "request_id": {"S": "no-count-no-ttl"}, "event_call": {"S": "sns:Subscribe"}},
    )
    return {app: 5, worker: 2}


def plugin_config(tmp_path, sandbox_env, name):
    path = tmp_path / "plugin.yaml"
    path.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        f"consoleme_assets:\n  plugins:\n    cloudtrail_errors: {name}\n"
    )
    return str(path)


def test_counts_live_errors_with_a_day_expiry(sandbox_env, demo_org, instance, resources, redis_client):
    expected = put_errors(demo_org)
    result = materialize(instance, resources)
    assert result.success
    assert json.loads(redis_client.get(KEY)) == dict(sorted(expected.items()))
    assert 86400 - 60 < redis_client.ttl(KEY) <= 86400
    assert int(redis_client.hget("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", KEY)) > 0
    # ConsoleMe keeps no S3 copy of the counts
    listed = boto3.client("s3").list_objects_v2(Bucket=demo_org.cache_bucket).get("Contents", [])
    assert not [o["Key"] for o in listed if "cloudtrail" in o["Key"].lower()]

    meta = result.asset_materializations_for_node("cloudtrail_errors_by_arn")[0].metadata
    assert meta["dagster/row_count"].value == 2
    assert meta["total_errors"].value == 7
    assert meta["source"].value == "default"
    assert meta["source_table_items"].value == 6
    assert meta["source_expired_items_skipped"].value == 2
    assert meta["redis_keys"].value == [KEY]
    assert "s3_uris" not in meta


def test_empty_table_caches_an_empty_mapping(sandbox_env, instance, resources, redis_client):
    assert materialize(instance, resources).success
    assert redis_client.get(KEY) == "{}"


def test_failed_scan_keeps_the_last_good_counts(sandbox_env, demo_org, instance, resources, redis_client):
    put_errors(demo_org)
    assert materialize(instance, resources).success
    before = redis_client.get(KEY)
    boto3.client("dynamodb").delete_table(TableName=TABLE)
    result = materialize(instance, resources)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error.cause)
    assert "DynamoDB table consoleme_cloudtrail: Scan: ResourceNotFoundException" in error
    assert redis_client.get(KEY) == before
    assert redis_client.ttl(KEY) > 0


def test_entry_point_plugin_feeds_the_cache(sandbox_env, demo_org, instance, redis_client, tmp_path, monkeypatch):
    put_errors(demo_org)  # the plugin, not the table, decides
    install_plugin_dist(monkeypatch, tmp_path, {"test_errors": "errors_by_arn"}, PLUGIN_SOURCE)
    result = materialize(instance, build_resources(plugin_config(tmp_path, sandbox_env, "test_errors")))
    assert result.success
    assert json.loads(redis_client.get(KEY)) == {"arn:aws:iam::111122223333:role/from-plugin": 4}
    meta = result.asset_materializations_for_node("cloudtrail_errors_by_arn")[0].metadata
    assert meta["source"].value == "test_errors"
    assert meta["source_seen_region"].value == "us-east-1"


def test_missing_plugin_fails_and_keeps_the_cache(sandbox_env, demo_org, instance, resources, redis_client, tmp_path):
    put_errors(demo_org)
    assert materialize(instance, resources).success
    before = redis_client.get(KEY)
    result = materialize(instance, build_resources(plugin_config(tmp_path, sandbox_env, "netflix_errors")))
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error.cause)
    assert "no entry point 'netflix_errors' in group 'consoleme_assets.plugins'" in error
    assert redis_client.get(KEY) == before
