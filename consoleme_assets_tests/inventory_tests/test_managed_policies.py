"""`managed_policies` end to end through Dagster against moto and redis-server."""

import json

import dagster as dg

from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets_tests.catalog import managed_policies

from .support import materializations, member_client, refresh, s3_data, s3_exists


def list_policies(demo_org, account_id, scope):
    iam = member_client(demo_org, account_id, "iam")
    return [p["Arn"] for p in iam.list_policies(Scope=scope, MaxItems=1000)["Policies"]]


def account_file(account_id):
    return f"account_resource_cache/cache_managed_policies_{account_id}_v1.json.gz"


def test_every_account_gets_aws_and_its_own_policies(accounts_ready, demo_org, instance, resources, redis_client):
    result = refresh([managed_policies], instance, resources)
    assert result.success
    cached = redis_client.hgetall("IAM_MANAGED_POLICIES")
    assert set(cached) == set(demo_org.accounts)
    aws_managed = list_policies(demo_org, demo_org.management_account_id, "AWS")
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in aws_managed
    for account_id in demo_org.accounts:
        own = demo_org.managed_policies[account_id]
        assert own == list_policies(demo_org, account_id, "Local") and len(own) == 3
        assert all(arn.startswith(f"arn:aws:iam::{account_id}:policy/") for arn in own)
        expected = sorted(own + aws_managed)
        assert cached[account_id] == json.dumps(expected)  # the exact string ConsoleMe's web reads
        assert s3_data(demo_org, account_file(account_id)) == expected

    # ConsoleMe keeps no combined file for managed policies.
    assert not s3_exists(demo_org, "account_resource_cache/cache_managed_policies_combined_v1.json.gz")
    by_partition = materializations(result, "managed_policies")
    assert set(by_partition) == set(demo_org.accounts)
    hub = demo_org.management_account_id
    meta = {k: v.value for k, v in by_partition[hub].metadata.items()}
    assert meta["dagster/row_count"] == len(json.loads(cached[hub]))
    assert meta["preview"] == json.loads(cached[hub])[:20]
    assert meta["redis_keys"] == ["IAM_MANAGED_POLICIES"]
    assert meta["s3_uris"] == [f"s3://{demo_org.cache_bucket}/{account_file(hub)}"]
    assert "combined_s3_uris" not in meta and "regions_read" not in meta


def test_not_gated_to_prod(accounts_ready, demo_org, instance, resources, redis_client):
    # ConsoleMe refreshed managed policies only when environment == prod; here every environment does.
    assert ConsoleMeResource().settings.environment == "dev"
    assert refresh([managed_policies], instance, resources).success
    assert set(redis_client.hgetall("IAM_MANAGED_POLICIES")) == set(demo_org.accounts)


def test_deleted_policy_vanishes_after_the_next_refresh(accounts_ready, demo_org, instance, resources, redis_client):
    account_id = demo_org.member_account_ids[1]
    iam = member_client(demo_org, account_id, "iam")
    arn = iam.create_policy(
        PolicyName="short-lived",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    assert refresh([managed_policies], instance, resources).success
    before = redis_client.hgetall("IAM_MANAGED_POLICIES")
    assert arn in json.loads(before[account_id])

    iam.delete_policy(PolicyArn=arn)
    assert refresh([managed_policies], instance, resources, partition_key=account_id).success
    after = redis_client.hgetall("IAM_MANAGED_POLICIES")
    assert json.loads(after[account_id]) == [a for a in json.loads(before[account_id]) if a != arn]
    assert {k: v for k, v in after.items() if k != account_id} == {k: v for k, v in before.items() if k != account_id}
    assert s3_data(demo_org, account_file(account_id)) == json.loads(after[account_id])
    assert instance.get_materialized_partitions(dg.AssetKey("managed_policies")) == set(demo_org.accounts)
