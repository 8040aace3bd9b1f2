"""`s3_buckets` end to end through Dagster against moto and redis-server."""

import json

import boto3
import dagster as dg
import pytest
from botocore.exceptions import ClientError

from consoleme_assets.inventory import datasets as inventory_assets
from consoleme_assets.lib.partitions import aws_accounts_partitions
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import aws_accounts, s3_buckets
from consoleme_assets_tests.fixtures import all_accounts_tags  # noqa: F401 (re-exported)


@pytest.fixture
def accounts_ready(sandbox_env, instance, resources):
    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success


def refresh(instance, resources, **kwargs):
    return dg.materialize(
        [aws_accounts, s3_buckets],
        selection=[s3_buckets],
        instance=instance,
        resources=resources,
        raise_on_error=False,
        **kwargs,
    )


def member_s3(demo_org, account_id):
    creds = boto3.client("sts").assume_role(RoleArn=demo_org.role_arn(account_id), RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.client(
        "s3",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_all_accounts_in_one_run(accounts_ready, demo_org, instance, resources, redis_client):
    result = refresh(instance, resources, tags=all_accounts_tags(instance))
    assert result.success
    cached = {k: json.loads(v) for k, v in redis_client.hgetall("S3_BUCKETS").items()}
    assert cached == demo_org.buckets
    s3 = boto3.client("s3")
    for account_id, names in demo_org.buckets.items():
        body = s3.get_object(
            Bucket=demo_org.cache_bucket, Key=f"account_resource_cache/cache_s3_buckets_{account_id}_v1.json.gz"
        )["Body"].read()
        assert open_envelope(body, gz=True)["data"] == names
    events = result.get_asset_materialization_events()
    by_partition = {
        e.event_specific_data.materialization.partition: e.event_specific_data.materialization for e in events
    }
    assert set(by_partition) == set(demo_org.accounts)
    some = next(iter(demo_org.accounts))
    meta = by_partition[some].metadata
    assert meta["dagster/row_count"].value == len(demo_org.buckets[some])
    assert meta["redis_keys"].value == ["S3_BUCKETS"]
    assert meta["s3_uris"].value == [
        f"s3://{demo_org.cache_bucket}/account_resource_cache/cache_s3_buckets_{some}_v1.json.gz"
    ]
    materialized = instance.get_materialized_partitions(dg.AssetKey("s3_buckets"))
    assert materialized == set(demo_org.accounts)


def test_deleted_bucket_disappears_and_other_accounts_untouched(
    accounts_ready, demo_org, instance, resources, redis_client
):
    assert refresh(instance, resources, tags=all_accounts_tags(instance)).success
    before = redis_client.hgetall("S3_BUCKETS")
    account_id = next(a for a in demo_org.member_account_ids if demo_org.buckets[a])
    gone = demo_org.buckets[account_id][0]
    client = member_s3(demo_org, account_id)
    for obj in client.list_objects_v2(Bucket=gone).get("Contents", []):
        client.delete_object(Bucket=gone, Key=obj["Key"])
    client.delete_bucket(Bucket=gone)

    assert refresh(instance, resources, partition_key=account_id).success
    after = redis_client.hgetall("S3_BUCKETS")
    assert json.loads(after[account_id]) == [b for b in demo_org.buckets[account_id] if b != gone]
    assert {k: v for k, v in after.items() if k != account_id} == {k: v for k, v in before.items() if k != account_id}


def test_one_failing_account_keeps_its_cache_and_fails_its_partition(
    accounts_ready, demo_org, instance, resources, redis_client, monkeypatch
):
    assert refresh(instance, resources, tags=all_accounts_tags(instance)).success
    before = redis_client.hgetall("S3_BUCKETS")
    broken = demo_org.member_account_ids[0]
    real = inventory_assets.s3_bucket_names

    def list_or_deny(sessions, account_id):
        if account_id == broken:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not for you"}}, "ListBuckets")
        return [*real(sessions, account_id), "added-since"]

    monkeypatch.setattr(inventory_assets, "s3_bucket_names", list_or_deny)
    result = refresh(instance, resources, tags=all_accounts_tags(instance))
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert broken in failure.description and "AccessDenied: not for you" in failure.description
    assert failure.metadata["failed_accounts"].value == {broken: "ListBuckets: AccessDenied: not for you"}

    after = redis_client.hgetall("S3_BUCKETS")
    assert after[broken] == before[broken]  # byte for byte
    for account_id in demo_org.accounts:
        if account_id != broken:
            assert json.loads(after[account_id])[-1] == "added-since"
    statuses = instance.get_status_by_partition(
        dg.AssetKey("s3_buckets"), sorted(demo_org.accounts), aws_accounts_partitions
    )
    assert statuses[broken] == dg.AssetPartitionStatus.FAILED
    assert {a for a, s in statuses.items() if s == dg.AssetPartitionStatus.MATERIALIZED} == set(demo_org.accounts) - {
        broken
    }


def test_yielding_anything_but_materializations_is_refused(accounts_ready, instance, resources):
    """Per-account assets have no IO manager: a value yielded as an output would be silently lost (or pickled),
    so the shared wrapper fails the step naming the asset."""
    import dataclasses

    from consoleme_assets.inventory.datasets import S3_BUCKETS
    from consoleme_assets.lib.account_refresh import per_account_asset

    def refresh(context, consoleme, publisher):
        yield dg.Output(["x"], output_name="s3_buckets")

    broken = per_account_asset(dataclasses.replace(S3_BUCKETS, fetch=None, refresh=refresh), "aws_accounts", None)

    result = dg.materialize(
        [aws_accounts, broken],
        selection=[broken],
        instance=instance,
        resources=resources,
        tags=all_accounts_tags(instance),
        raise_on_error=False,
    )
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "s3_buckets: a per-account refresh yields one AssetMaterialization per account" in error
    assert "not Output" in error
