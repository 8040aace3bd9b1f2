"""`policies_table` end to end: from the caches the per-account assets wrote to ALL_POLICIES and S3."""

import json

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import (
    aws_accounts,
    aws_config_resources,
    iam_resources,
    managed_policies,
    policies_table,
    s3_buckets,
    sns_topics,
    sqs_queues,
)
from consoleme_assets_tests.fixtures import all_accounts_tags

# Every per-account cache the table reads: it is not built until each was refreshed once (lib/completeness.py).
PER_ACCOUNT_UPSTREAM = (iam_resources, s3_buckets, sns_topics, sqs_queues, managed_policies, aws_config_resources)


def refresh(instance, resources, *assets):
    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success
    tags = all_accounts_tags(instance)
    assert dg.materialize(
        [aws_accounts, *assets], selection=list(assets), instance=instance, resources=resources, tags=tags
    ).success


def test_not_built_until_every_cache_it_reads_was_refreshed(sandbox_env, instance, resources, redis_client):
    refresh(instance, resources, iam_resources, s3_buckets)
    result = dg.materialize([policies_table], instance=instance, resources=resources, raise_on_error=False)
    assert not result.success and not redis_client.exists("ALL_POLICIES")
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    for name in ("sns_topics", "sqs_queues", "managed_policies", "aws_config_resources"):
        assert f"{name}: no account refreshed yet" in message, message
    assert "iam_resources" not in message


def test_one_row_per_cached_resource(sandbox_env, demo_org, instance, resources, redis_client):
    refresh(instance, resources, *PER_ACCOUNT_UPSTREAM)
    config_item = {
        "arn": f"arn:aws:lambda:us-east-1:{demo_org.member_account_ids[0]}:function:f",
        "resourceType": "AWS::Lambda::Function",
        "accountId": demo_org.member_account_ids[0],
    }
    redis_client.hset("AWSCONFIG_RESOURCE_CACHE", config_item["arn"], json.dumps(config_item))
    redis_client.set("CLOUDTRAIL_ERRORS_BY_ARN", json.dumps({demo_org.roles[demo_org.member_account_ids[0]][0]: 7}))

    result = dg.materialize([policies_table], instance=instance, resources=resources)
    assert result.success
    rows = json.loads(redis_client.get("ALL_POLICIES"))
    by_tech = {}
    for row in rows:
        by_tech.setdefault(row["technology"], set()).add(row["arn"])
    assert by_tech["AWS::IAM::Role"] == {a for arns in demo_org.roles.values() for a in arns}
    assert by_tech["AWS::IAM::User"] == {a for arns in demo_org.users.values() for a in arns}
    assert by_tech["AWS::S3::Bucket"] == {f"arn:aws:s3:::{b}" for bs in demo_org.buckets.values() for b in bs}
    assert by_tech["AWS::Lambda::Function"] == {config_item["arn"]}
    role_row = next(r for r in rows if r["arn"] == demo_org.roles[demo_org.member_account_ids[0]][0])
    assert role_row["errors"] == 7
    assert role_row["account_name"] == demo_org.accounts[demo_org.member_account_ids[0]]
    s3_copy = boto3.client("s3").get_object(
        Bucket=demo_org.cache_bucket, Key="policies_table/cache_policies_table_details_v1.json.gz"
    )
    assert open_envelope(s3_copy["Body"].read(), gz=True)["data"] == rows
    meta = result.asset_materializations_for_node("policies_table")[0].metadata
    assert meta["dagster/row_count"].value == len(rows)
    assert meta["rows_by_technology"].value["AWS::IAM::Role"] == len(by_tech["AWS::IAM::Role"])


def test_skip_keys_are_honoured(sandbox_env, demo_org, instance, redis_client, tmp_path):
    resources = build_resources()
    refresh(instance, resources, *PER_ACCOUNT_UPSTREAM)
    cfg = tmp_path / "skip.yaml"
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "cache_policies_table_details: {skip_iam_roles: true, skip_s3_buckets: true}\n"
    )
    assert dg.materialize([policies_table], instance=instance, resources=build_resources(str(cfg))).success
    techs = {r["technology"] for r in json.loads(redis_client.get("ALL_POLICIES"))}
    assert "AWS::IAM::Role" not in techs and "AWS::S3::Bucket" not in techs and "AWS::IAM::User" in techs
