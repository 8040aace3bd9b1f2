"""Adding a dataset is one declaration (docs/adding-a-dataset.md): a toy per-account dataset, EC2 instance ids,
declared in this module only, gets its asset, job, schedule, checks, freshness policy and store mapping from the
framework, and works against the moto server and Redis through the real launch path (its job, one run over all
account partitions). Nothing in consoleme_assets/ knows it exists."""

import datetime as dt
import json

import dagster as dg

from consoleme_assets.lib.automation import crons_at
from consoleme_assets.lib.datasets import EVERY_45_MINUTES, Dataset
from consoleme_assets.lib.definitions import definitions_from
from consoleme_assets.lib.resources import ConsoleMeResource, load_deployment_settings
from consoleme_assets.lib.shapes import account_list_of
from consoleme_assets.settings import S3Object
from consoleme_assets.stores.caches import AccountLists
from consoleme_assets_tests.catalog import DATASETS, aws_accounts
from consoleme_assets_tests.inventory_tests.support import member_client, s3_data


def ec2_instance_ids(consoleme: ConsoleMeResource, account_id: str) -> list[str]:
    """The fetch: the account's EC2 instance ids (a real collector would live in aws/)."""
    client = consoleme.sessions.client("ec2", account_id=account_id)
    pages = client.get_paginator("describe_instances").paginate()
    return sorted(i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"])


# The one declaration.
EC2_INSTANCES = Dataset(
    name="ec2_instances",
    description="EC2 instance ids of each account -> Redis hash EC2_INSTANCES (field = account id) + S3 file.",
    group="inventory",
    kinds={"aws", "redis", "s3"},
    cadence=EVERY_45_MINUTES,
    fetch=ec2_instance_ids,
    storage=AccountLists(
        lambda s: "EC2_INSTANCES",
        lambda s: S3Object(file="account_resource_cache/cache_ec2_instances_{account_id}_v1.json.gz"),
    ),
    shape=account_list_of("i-"),
    coverage="every active account has a field in the hash",
)


def test_a_toy_dataset_declared_once_is_scheduled_checked_and_stored(
    sandbox_env, demo_org, instance, resources, redis_client
):
    defs = definitions_from([*DATASETS.values(), EC2_INSTANCES], settings=load_deployment_settings())

    # Derived: the asset, its checks and freshness, its job and schedule, its pool.
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("ec2_instances"))
    assert node.partitions_def.name == "aws_accounts" and dg.AssetKey("aws_accounts") in node.parent_keys
    assert node.pools == {"consoleme/ec2_instances"}
    checks = {k.name for k in graph.get_check_keys_for_assets({node.key})}
    assert checks == {"accounts_fresh", "cache_shape", "covers_all_accounts"}
    [spec] = [s for s in defs.resolve_all_asset_specs() if s.key == node.key]
    assert spec.freshness_policy is not None and spec.group_name == "inventory"
    job = defs.resolve_job_def("ec2_instances_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"ec2_instances"}
    schedule = defs.resolve_schedule_def("ec2_instances_every_45_minutes")
    assert any(schedule.cron_schedule == crons_at(EVERY_45_MINUTES, m) for m in range(60)), schedule.cron_schedule

    # Working: AWS has an instance in one member account; the scheduled run refreshes every account.
    member = demo_org.member_account_ids[0]
    ec2 = member_client(demo_org, member, "ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    [launched] = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"]
    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 1, 0, 45, tzinfo=dt.UTC)
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    result = job.execute_in_process(instance=instance, tags=request.tags, resources=resources)
    assert result.success

    cached = {k: json.loads(v) for k, v in redis_client.hgetall("EC2_INSTANCES").items()}
    assert set(cached) == set(instance.get_dynamic_partitions("aws_accounts"))
    assert cached[member] == [launched["InstanceId"]]
    assert s3_data(demo_org, f"account_resource_cache/cache_ec2_instances_{member}_v1.json.gz") == cached[member]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items()}
    assert set(evaluations) == checks

    # The cache-presence sensor watches its key like any other dataset's.
    redis_client.delete("EC2_INSTANCES")
    redis_client.hdel(load_deployment_settings().redis_keys.last_updated, "EC2_INSTANCES")  # as after a FLUSHALL
    with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as context:
        tick = defs.resolve_sensor_def("cache_presence_sensor").evaluate_tick(context)
    assert {e.asset_key.to_user_string() for e in tick.asset_events} == {"ec2_instances"}
    [refill] = tick.run_requests
    assert [k.to_user_string() for k in refill.asset_selection] == ["ec2_instances"]
