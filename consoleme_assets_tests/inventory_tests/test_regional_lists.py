"""`sqs_queues` and `sns_topics` end to end through Dagster against moto (two regions) and redis-server."""

import json
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

from consoleme_assets.aws import inventory as aws_inventory
from consoleme_assets.lib.partitions import aws_accounts_partitions
from consoleme_assets_tests.catalog import sns_topics, sqs_queues

from .support import client_error, materializations, member_client, refresh, s3_data

BOTH = ["us-east-1", "us-west-2"]


@dataclass(frozen=True)
class Dataset:
    asset: Any
    name: str
    redis_key: str
    seeded: str  # DemoOrg attribute with the expected ARNs per account
    service: str
    per_region: str  # the per-region collector in consoleme_assets.aws.inventory
    operation: str

    def expected(self, demo_org) -> dict[str, list[str]]:
        return getattr(demo_org, self.seeded)

    def account_file(self, account_id: str) -> str:
        return f"account_resource_cache/cache_{self.name}_{account_id}_v1.json.gz"

    @property
    def combined_file(self) -> str:
        return f"account_resource_cache/cache_{self.name}_combined_v1.json.gz"

    def create(self, demo_org, account_id: str, region: str, name: str) -> str:
        client = member_client(demo_org, account_id, self.service, region)
        if self.service == "sqs":
            client.create_queue(QueueName=name)
            return f"arn:aws:sqs:{region}:{account_id}:{name}"
        return client.create_topic(Name=name)["TopicArn"]

    def delete(self, demo_org, arn: str) -> None:
        _, _, _, region, account_id, name = arn.split(":", 5)
        client = member_client(demo_org, account_id, self.service, region)
        if self.service == "sqs":
            client.delete_queue(QueueUrl=client.get_queue_url(QueueName=name)["QueueUrl"])
        else:
            client.delete_topic(TopicArn=arn)


SQS = Dataset(sqs_queues, "sqs_queues", "SQS_QUEUES", "queues", "sqs", "sqs_queue_arns_in_region", "ListQueues")
SNS = Dataset(sns_topics, "sns_topics", "SNS_TOPICS", "topics", "sns", "sns_topic_arns_in_region", "ListTopics")
DATASETS = pytest.mark.parametrize("ds", [SQS, SNS], ids=["sqs_queues", "sns_topics"])


def in_region(arns, region):
    return [a for a in arns if a.split(":")[3] == region]


def fail_region(monkeypatch, ds: Dataset, should_fail) -> None:
    """Make the per-region AWS call raise for the (account, region) pairs `should_fail` picks."""
    real = getattr(aws_inventory, ds.per_region)

    def listing(sessions, account_id, region):
        if should_fail(account_id, region):
            raise client_error(ds.operation, "ServiceUnavailable", f"{region} is having a bad hour")
        return real(sessions, account_id, region)

    monkeypatch.setattr(aws_inventory, ds.per_region, listing)


@DATASETS
def test_every_account_in_both_regions(ds, accounts_ready, demo_org, instance, resources, redis_client):
    result = refresh([ds.asset], instance, resources)
    assert result.success
    expected = ds.expected(demo_org)
    cached = redis_client.hgetall(ds.redis_key)
    assert cached == {a: json.dumps(expected[a]) for a in demo_org.accounts}  # exact strings, every account
    assert all(in_region(expected[a], r) for a in demo_org.member_account_ids[:2] for r in BOTH)
    for account_id in demo_org.accounts:
        assert s3_data(demo_org, ds.account_file(account_id)) == expected[account_id]
    assert s3_data(demo_org, ds.combined_file) == cached  # {account_id: "<json list>"}

    by_partition = materializations(result, ds.name)
    assert set(by_partition) == set(demo_org.accounts)
    prod = demo_org.member_account_ids[0]
    meta = {k: v.value for k, v in by_partition[prod].metadata.items()}
    bucket = demo_org.cache_bucket
    assert meta["dagster/row_count"] == len(expected[prod]) and meta["preview"] == expected[prod]
    assert meta["redis_keys"] == [ds.redis_key]
    assert meta["s3_uris"] == [f"s3://{bucket}/{ds.account_file(prod)}"]
    # The run-level combined file is reported once, on the account that landed last.
    combined = [m.metadata["combined_s3_uris"].value for m in by_partition.values() if "combined_s3_uris" in m.metadata]
    assert combined == [[f"s3://{bucket}/{ds.combined_file}"]]
    assert meta["regions_read"] == BOTH and meta["regions_failed"] == {} and meta["carried_over"] == {}
    assert meta["source"] == "AWS"
    assert instance.get_materialized_partitions(dg.AssetKey(ds.name)) == set(demo_org.accounts)


@DATASETS
def test_deleted_resource_vanishes_after_the_next_refresh(
    ds, accounts_ready, demo_org, instance, resources, redis_client
):
    assert refresh([ds.asset], instance, resources).success
    before = redis_client.hgetall(ds.redis_key)
    prod = demo_org.member_account_ids[0]
    gone = in_region(ds.expected(demo_org)[prod], "us-west-2")[0]
    ds.delete(demo_org, gone)

    assert refresh([ds.asset], instance, resources, partition_key=prod).success
    after = redis_client.hgetall(ds.redis_key)
    remaining = [a for a in ds.expected(demo_org)[prod] if a != gone]
    assert after[prod] == json.dumps(remaining)
    assert {k: v for k, v in after.items() if k != prod} == {k: v for k, v in before.items() if k != prod}
    assert s3_data(demo_org, ds.account_file(prod)) == remaining
    assert s3_data(demo_org, ds.combined_file) == after


@DATASETS
def test_a_failing_region_keeps_its_previous_arns(
    ds, accounts_ready, demo_org, instance, resources, redis_client, monkeypatch
):
    assert refresh([ds.asset], instance, resources).success
    expected = ds.expected(demo_org)
    prod = demo_org.member_account_ids[0]
    # Behind the cache's back: a new resource in us-east-1, and one deleted in us-west-2 (which then fails,
    # so the cache cannot know; its previous ARNs must survive).
    added = ds.create(demo_org, prod, "us-east-1", "added-since")
    west = in_region(expected[prod], "us-west-2")
    assert west  # so "carried over" below is about real ARNs
    ds.delete(demo_org, west[0])
    with monkeypatch.context() as patch:  # only this refresh sees the failing region
        fail_region(patch, ds, lambda account_id, region: region == "us-west-2")
        result = refresh([ds.asset], instance, resources)
    assert result.success  # a partial region failure is reported, not fatal
    cached = {k: json.loads(v) for k, v in redis_client.hgetall(ds.redis_key).items()}
    assert cached[prod] == sorted([*expected[prod], added])
    assert s3_data(demo_org, ds.account_file(prod)) == cached[prod]
    by_partition = materializations(result, ds.name)
    error = f"{ds.operation}: ServiceUnavailable: us-west-2 is having a bad hour"
    for account_id in demo_org.accounts:
        meta = {k: v.value for k, v in by_partition[account_id].metadata.items()}
        assert meta["regions_read"] == ["us-east-1"]
        assert meta["regions_failed"] == {"us-west-2": error}
        assert meta["carried_over"] == {"us-west-2": len(in_region(expected[account_id], "us-west-2"))}
        assert meta["dagster/row_count"] == len(cached[account_id])

    # Once the region answers again, what it really holds replaces the carried-over ARNs.
    assert refresh([ds.asset], instance, resources, partition_key=prod).success
    assert json.loads(redis_client.hget(ds.redis_key, prod)) == sorted(
        a for a in [*expected[prod], added] if a != west[0]
    )


@DATASETS
def test_every_region_failing_fails_only_that_account(
    ds, accounts_ready, demo_org, instance, resources, redis_client, monkeypatch
):
    assert refresh([ds.asset], instance, resources).success
    before = redis_client.hgetall(ds.redis_key)
    broken, healthy = demo_org.member_account_ids[0], demo_org.member_account_ids[1]
    ds.create(demo_org, broken, "us-east-1", "never-seen")
    added = ds.create(demo_org, healthy, "us-west-2", "added-since")
    fail_region(monkeypatch, ds, lambda account_id, region: account_id == broken)

    result = refresh([ds.asset], instance, resources)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert f"{broken}: AllRegionsFailed: account {broken}: listing" in failure.description
    assert set(failure.metadata["failed_accounts"].value) == {broken}
    assert "us-east-1: " in failure.description and "us-west-2: " in failure.description

    after = redis_client.hgetall(ds.redis_key)
    assert after[broken] == before[broken]  # byte for byte
    assert s3_data(demo_org, ds.account_file(broken)) == json.loads(before[broken])
    assert json.loads(after[healthy]) == sorted([*ds.expected(demo_org)[healthy], added])
    assert s3_data(demo_org, ds.combined_file) == after  # the combined file still carries the old list
    statuses = instance.get_status_by_partition(
        dg.AssetKey(ds.name), sorted(demo_org.accounts), aws_accounts_partitions
    )
    assert statuses[broken] == dg.AssetPartitionStatus.FAILED
    assert {a for a, s in statuses.items() if s == dg.AssetPartitionStatus.MATERIALIZED} == (
        set(demo_org.accounts) - {broken}
    )
