"""`aws_config_resources`: enable switches, failing regions, the real AWS Config call path, replica regions."""

from __future__ import annotations

import datetime as dt
import json
import time

import boto3
import dagster as dg

from consoleme_assets.aws.config_resources import config_regions
from consoleme_assets.aws_config.source import AwsConfigSource
from consoleme_assets.lib.partitions import aws_accounts_partitions
from consoleme_assets.settings import load_settings
from consoleme_assets_tests.catalog import schedule

from .helpers import (
    REGIONS,
    RefusingSource,
    all_accounts_tags,
    config_row,
    dynamo_ids,
    injected_source,
    materializations,
    refresh,
)

KEY = "AWSCONFIG_RESOURCE_CACHE"
PER_ACCOUNT = "celery.cache_resources_from_aws_config_for_account"

aws_config_hourly = schedule("aws_config_hourly")


def switches(global_switch=None, disabled_account=None) -> dict:
    celery: dict = {}
    if global_switch is not None:
        celery["cache_resources_from_aws_config_across_accounts"] = {"enabled": global_switch}
    if disabled_account:
        celery["cache_resources_from_aws_config_for_account"] = {disabled_account: {"enabled": False}}
    return {"aws_config": {"available_regions": REGIONS}, "celery": celery}


def observations(result) -> dict[str, str]:
    return {
        e.event_specific_data.asset_observation.partition: e.event_specific_data.asset_observation.metadata[
            "skipped"
        ].value
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    }


def seed_entry(redis_client, account_id, name, ttl):
    value = json.dumps({"accountId": account_id, "arn": f"arn:aws:s3:::{name}", "awsRegion": "us-east-1", "ttl": ttl})
    redis_client.hset(KEY, f"arn:aws:s3:::{name}", value)
    return value


def test_disabled_account_is_not_queried_nor_touched(accounts_ready, use_config, demo_org, instance, redis_client):
    a = demo_org.member_account_ids[0]
    use_config(switches(disabled_account=a))
    kept = seed_entry(redis_client, a, "a-bucket", int(time.time()) + 600)
    seed_entry(redis_client, "999999999999", "expired", int(time.time()) - 60)
    calls: list = []
    result = refresh(instance, injected_source(calls=calls), tags=all_accounts_tags(instance))
    assert result.success
    assert a not in {account for account, _ in calls}
    assert redis_client.hget(KEY, "arn:aws:s3:::a-bucket") == kept
    assert not redis_client.hexists(KEY, "arn:aws:s3:::expired")  # the run's sweep still ran, as ConsoleMe's
    assert set(materializations(result)) == set(demo_org.accounts) - {a}  # not refreshed: no materialization
    assert observations(result) == {a: f"disabled by {PER_ACCOUNT}.{a}.enabled: not queried, cache untouched"}


def test_global_switch_overrides_the_per_account_one(accounts_ready, use_config, demo_org, instance):
    a = demo_org.member_account_ids[0]
    use_config(switches(global_switch=True, disabled_account=a))
    calls: list = []
    result = refresh(instance, injected_source(calls=calls), tags=all_accounts_tags(instance))
    assert result.success and a in {account for account, _ in calls}
    assert set(materializations(result)) == set(demo_org.accounts)


def test_globally_disabled_does_nothing(accounts_ready, use_config, demo_org, instance, redis_client):
    use_config(switches(global_switch=False))
    expired = seed_entry(redis_client, "999999999999", "expired", int(time.time()) - 60)
    result = refresh(instance, RefusingSource(), tags=all_accounts_tags(instance))
    assert result.success and materializations(result) == {}
    assert set(observations(result)) == set(demo_org.accounts)
    assert redis_client.hget(KEY, "arn:aws:s3:::expired") == expired  # no sweep either (ConsoleMe's parent skips)
    listed = boto3.client("s3").list_objects_v2(Bucket=demo_org.cache_bucket, Prefix="aws_config_cache")
    assert listed["KeyCount"] == 0


def test_failing_region_is_named_and_keeps_its_entries_while_others_land(
    accounts_ready, demo_org, instance, redis_client
):
    a, b = demo_org.member_account_ids[:2]
    queue_west = config_row(a, "us-west-2", "AWS::SQS::Queue", "west")
    old_bucket, new_bucket = (config_row(a, "us-east-1", "AWS::S3::Bucket", n) for n in ("old", "new"))
    b_queue = config_row(b, "us-east-1", "AWS::SQS::Queue", "b")
    first = {(a, "us-west-2"): [queue_west], (a, "us-east-1"): [old_bucket], (b, "us-east-1"): [b_queue]}
    assert refresh(instance, injected_source(first), tags=all_accounts_tags(instance)).success
    b_before = redis_client.hget(KEY, b_queue["arn"])

    # a: us-west-2 denied, us-east-1 answers; b: every region denied
    fail = {(a, "us-west-2"): "AccessDeniedException", **{(b, r): "AccessDeniedException" for r in REGIONS}}
    result = refresh(
        instance, injected_source({(a, "us-east-1"): [new_bucket]}, fail=fail), tags=all_accounts_tags(instance)
    )
    assert not result.success  # b failed as a whole
    assert set(redis_client.hgetall(KEY)) == {queue_west["arn"], new_bucket["arn"], b_queue["arn"]}
    assert redis_client.hget(KEY, b_queue["arn"]) == b_before
    assert dynamo_ids(a) == {"id-west", "id-new"}

    meta = {k: v.value for k, v in materializations(result)[a].metadata.items()}
    assert meta["regions_failed"] == {"us-west-2": "SelectResourceConfig: AccessDeniedException: no us-west-2"}
    assert meta["regions_read"] == sorted(set(REGIONS) - {"us-west-2"})
    assert meta["kept_from_failed_regions"] == 1 and meta["redis_deleted"] == 1
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert (
        f"{b}: AllRegionsFailed: account {b}: listing AWS Config resources failed in every region ("
        f"{REGIONS[0]}: SelectResourceConfig: AccessDeniedException"
    ) in failure.description
    statuses = instance.get_status_by_partition(dg.AssetKey("aws_config_resources"), [a, b], aws_accounts_partitions)
    assert statuses == {a: dg.AssetPartitionStatus.MATERIALIZED, b: dg.AssetPartitionStatus.FAILED}


def test_real_select_resource_config_against_moto(accounts_ready, use_config, demo_org, instance, redis_client):
    use_config({"aws_config": {"available_regions": []}})  # every region boto3 knows for "config", minus exclusions
    a = demo_org.member_account_ids[0]
    seed_entry(redis_client, a, "gone-from-config", int(time.time()) + 600)
    calls: list = []

    class CountingSource(AwsConfigSource):
        def select_region(self, client, account_id, region, expression):
            calls.append((account_id, region, client.meta.region_name))
            return super().select_region(client, account_id, region, expression)

    result = refresh(instance, CountingSource(), tags=all_accounts_tags(instance))
    assert result.success
    regions = config_regions(load_settings())
    assert len(regions) > 20 and "ap-east-1" not in regions  # a default exclusion
    assert sorted(calls) == sorted((acct, r, r) for acct in demo_org.accounts for r in regions)
    mats = materializations(result)
    assert set(mats) == set(demo_org.accounts)
    assert mats[a].metadata["regions_read"].value == sorted(regions)
    assert mats[a].metadata["regions_failed"].value == {}
    # The sandbox's AWS Config answers with what moto holds: the account's queues and roles, not the stale entry.
    cached = set(redis_client.hkeys(KEY))
    assert not any("gone-from-config" in arn for arn in cached)
    assert set(demo_org.queues[a]) | {demo_org.role_arn(a)} <= cached
    assert mats[a].metadata["dagster/row_count"].value == len(
        [
            arn
            for arn in cached
            if f":{a}:" in arn or arn.startswith("arn:aws:s3:::") and arn[len("arn:aws:s3:::") :] in demo_org.buckets[a]
        ]
    )


def test_replica_hydrates_from_the_primary_s3_files_without_aws_config(
    accounts_ready, use_config, demo_org, instance, redis_client
):
    a, b = demo_org.member_account_ids[:2]
    role = config_row(a, "us-east-1", "AWS::IAM::Role", "app")
    queue = config_row(b, "us-east-1", "AWS::SQS::Queue", "q")
    assert refresh(
        instance,
        injected_source({(a, "us-east-1"): [role], (b, "us-east-1"): [queue]}),
        tags=all_accounts_tags(instance),
    ).success
    primary = redis_client.hgetall(KEY)
    s3 = boto3.client("s3")

    def s3_objects():
        listed = s3.list_objects_v2(Bucket=demo_org.cache_bucket, Prefix="aws_config_cache")["Contents"]
        return {o["Key"]: (o["ETag"], o["LastModified"]) for o in listed}

    objects, items = s3_objects(), dynamo_ids()
    redis_client.flushall()
    seed_entry(redis_client, a, "stale-in-replica", int(time.time()) + 600)
    use_config({**switches(), "celery": {"active_region": "us-west-2"}})
    time.sleep(1)  # an S3 rewrite would show in LastModified

    result = refresh(instance, RefusingSource(), tags=all_accounts_tags(instance))
    assert result.success  # RefusingSource fails any account it is asked about
    assert redis_client.hgetall(KEY) == primary
    assert s3_objects() == objects and dynamo_ids() == items
    meta = materializations(result)[a].metadata
    assert meta["source"].value == f"s3://{demo_org.cache_bucket}/aws_config_cache/cache_{a}_v1.json.gz"
    assert "S3 copy skipped: replica region" in meta["notes"].value and "DynamoDB skipped" in meta["notes"].value

    s3.delete_object(Bucket=demo_org.cache_bucket, Key=f"aws_config_cache/cache_{a}_v1.json.gz")
    result = refresh(instance, RefusingSource(), tags=all_accounts_tags(instance))
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert f"aws_config_cache/cache_{a}_v1.json.gz does not exist" in failure.description
    assert redis_client.hget(KEY, role["arn"]) == primary[role["arn"]]  # kept


def test_hourly_schedule_refreshes_all_accounts_in_one_run():
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 1, 1, 10, tzinfo=dt.UTC)
        ) as context,
    ):  # closes the instance it opens from the ref (see test_definitions.py)
        assert isinstance(aws_config_hourly(context), dg.SkipReason)
        instance.add_dynamic_partitions("aws_accounts", ["111111111111", "222222222222"])
        request = aws_config_hourly(context)
        assert request.tags == {
            "dagster/asset_partition_range_start": "111111111111",
            "dagster/asset_partition_range_end": "222222222222",
        }
        # The dataset run tag comes from the job, on every launch of it.
        assert aws_config_hourly.job.tags == {"consoleme_assets/dataset": "aws_config_resources"}
