"""`aws_accounts` end to end: ALL_AWS_ACCOUNTS in Redis and S3, and the account partitions."""

import json

import boto3
import dagster as dg

from consoleme_assets.accounts.sensors import aws_account_discovery_sensor
from consoleme_assets.definitions import build_resources, defs
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import aws_accounts


def materialize_accounts(instance, resources):
    return dg.materialize([aws_accounts], instance=instance, resources=resources, raise_on_error=False)


def test_writes_all_aws_accounts_and_partitions(sandbox_env, demo_org, instance, resources, redis_client):
    result = materialize_accounts(instance, resources)
    assert result.success
    cached = json.loads(redis_client.get("ALL_AWS_ACCOUNTS"))
    assert set(cached) == {"accounts"}
    statuses = {a["id"]: a["status"] for a in cached["accounts"]}
    assert {i for i, s in statuses.items() if s == "active"} == set(demo_org.accounts)
    assert {i for i, s in statuses.items() if s != "active"} == set(demo_org.closed_accounts)
    assert int(redis_client.hget("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", "ALL_AWS_ACCOUNTS")) > 0

    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key="cache_cloud_accounts/accounts_v1.json.gz")
    assert open_envelope(body["Body"].read(), gz=True)["data"] == cached

    assert sorted(instance.get_dynamic_partitions("aws_accounts")) == sorted(demo_org.accounts)
    meta = result.asset_materializations_for_node("aws_accounts")[0].metadata
    assert meta["dagster/row_count"].value == len(cached["accounts"])
    assert meta["active_accounts"].value == len(demo_org.accounts)
    assert meta["source"].value == "organizations"
    assert "ALL_AWS_ACCOUNTS" in meta["redis_keys"].value


def test_removes_partitions_of_accounts_that_are_gone(sandbox_env, demo_org, instance, resources):
    instance.add_dynamic_partitions("aws_accounts", ["999999999999", *demo_org.closed_accounts])
    assert materialize_accounts(instance, resources).success
    assert sorted(instance.get_dynamic_partitions("aws_accounts")) == sorted(demo_org.accounts)
    meta = instance.get_latest_materialization_event(dg.AssetKey("aws_accounts")).asset_materialization.metadata
    assert sorted(meta["partitions_removed"].value) == sorted(["999999999999", *demo_org.closed_accounts])


def test_failed_discovery_keeps_the_last_good_list(sandbox_env, instance, resources, redis_client, tmp_path):
    assert materialize_accounts(instance, resources).success
    before = redis_client.get("ALL_AWS_ACCOUNTS")
    broken = tmp_path / "broken.yaml"  # same config, but STS unreachable: Organizations cannot be read
    broken.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "aws: {sts_endpoint_url: 'http://127.0.0.1:9'}\nconsoleme_assets: {aws_max_attempts: 1}\n"
    )
    result = materialize_accounts(instance, build_resources(str(broken)))
    assert not result.success
    assert "cannot assume arn:aws:iam::123456789012:role/ConsoleMeOrgReader" in str(
        result.get_step_failure_events()[0].step_failure_data.error.cause
    )
    assert redis_client.get("ALL_AWS_ACCOUNTS") == before
    assert len(instance.get_dynamic_partitions("aws_accounts")) > 0


def test_discovery_sensor_adds_and_removes(sandbox_env, demo_org, instance):
    resources = {"consoleme": build_resources()["consoleme"]}
    instance.add_dynamic_partitions("aws_accounts", ["999999999999"])
    with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        result = aws_account_discovery_sensor(ctx)
    assert isinstance(result, dg.SensorResult)
    adds = [r for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
    deletes = [r for r in result.dynamic_partitions_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest)]
    assert sorted(adds[0].partition_keys) == sorted(demo_org.accounts)
    assert deletes[0].partition_keys == ["999999999999"]
    assert len(result.run_requests) == 1  # refresh ALL_AWS_ACCOUNTS

    instance.delete_dynamic_partition("aws_accounts", "999999999999")
    instance.add_dynamic_partitions("aws_accounts", sorted(demo_org.accounts))
    with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        assert isinstance(aws_account_discovery_sensor(ctx), dg.SkipReason)
