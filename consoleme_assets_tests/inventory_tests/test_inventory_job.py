"""The 45-minute schedule: one run, all four inventory datasets, every account."""

import datetime as dt
import json

import dagster as dg

from consoleme_assets.definitions import defs
from consoleme_assets_tests.catalog import schedule

DATASETS = {
    "s3_buckets": "S3_BUCKETS",
    "managed_policies": "IAM_MANAGED_POLICIES",
    "sqs_queues": "SQS_QUEUES",
    "sns_topics": "SNS_TOPICS",
}

inventory_every_45_minutes = schedule("inventory_every_45_minutes")


def test_job_selects_the_four_inventory_datasets():
    job = defs.resolve_job_def("inventory_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(DATASETS)
    assert inventory_every_45_minutes.job_name == "inventory_job"
    for name in DATASETS:
        node = defs.resolve_assets_def(name)
        assert node.partitions_def.name == "aws_accounts"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_one_scheduled_run_refreshes_every_dataset_for_every_account(accounts_ready, demo_org, instance, redis_client):
    with dg.build_schedule_context(  # closes the instance it opens from the ref (see test_definitions.py)
        instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 1, 0, 45, tzinfo=dt.UTC)
    ) as context:
        request = inventory_every_45_minutes(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == instance.get_dynamic_partitions("aws_accounts")[0]

    result = defs.resolve_job_def("inventory_job").execute_in_process(instance=instance, tags=request.tags)
    assert result.success
    for name, key in DATASETS.items():
        cached = {k: json.loads(v) for k, v in redis_client.hgetall(key).items()}
        assert set(cached) == set(demo_org.accounts), name
        assert instance.get_materialized_partitions(dg.AssetKey(name)) == set(demo_org.accounts)
    assert (
        json.loads(redis_client.hget("SQS_QUEUES", demo_org.member_account_ids[0]))
        == (demo_org.queues[demo_org.member_account_ids[0]])
    )
    assert len(instance.get_runs()) == 2  # aws_accounts (setup), then the one inventory run
