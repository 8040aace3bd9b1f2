"""The one-role refresh job (ConsoleMe's refresh_iam_role) against moto and redis-server."""

import json

import boto3
import dagster as dg
import pytest

from consoleme_assets.iam.jobs import parse_role_arn, refresh_iam_role_job


def run_job(instance, resources, arn):
    return refresh_iam_role_job.execute_in_process(
        run_config={"ops": {"refresh_iam_role": {"config": {"role_arn": arn}}}},
        instance=instance, resources=resources, raise_on_error=False,
    )


def test_updates_then_removes_one_role(accounts_ready, demo_org, refresh_iam, redis_client, instance, resources,
                                       member_client):
    assert refresh_iam().success
    member = demo_org.member_account_ids[0]
    arn = next(a for a in demo_org.roles[member] if not a.endswith("/ConsoleMe"))
    name = arn.split("/")[-1]
    iam = member_client(member, "iam")
    iam.tag_role(RoleName=name, Tags=[{"Key": "owner", "Value": "new-owner@example.com"}])
    others_before = {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if k != arn}

    assert run_job(instance, resources, arn).success
    entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", arn))
    assert entry["owner"] == "new-owner@example.com"
    detail = json.loads(entry["policy"])
    assert {"RolePolicyList", "AttachedManagedPolicies", "Tags", "AssumeRolePolicyDocument"} <= set(detail)
    item = boto3.resource("dynamodb").Table("consoleme_iamroles_global").get_item(
        Key={"arn": arn, "accountId": member})["Item"]
    assert item["owner"] == "new-owner@example.com"
    assert {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if k != arn} == others_before

    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName=name)
    result = run_job(instance, resources, arn)
    assert result.success
    assert not redis_client.hexists("IAM_ROLE_CACHE", arn)
    assert "Item" not in boto3.resource("dynamodb").Table("consoleme_iamroles_global").get_item(
        Key={"arn": arn, "accountId": member})
    # The next account refresh agrees (the owner index no longer lists the role).
    assert refresh_iam(partition_key=member).success
    assert not redis_client.hexists("IAM_ROLE_CACHE", arn)


def test_bad_arn_is_named():
    with pytest.raises(ValueError, match="role_arn 'arn:aws:s3:::bucket' is not an IAM role ARN"):
        parse_role_arn("arn:aws:s3:::bucket")
    with pytest.raises(ValueError, match="account id in role_arn"):
        parse_role_arn("arn:aws:iam::12:role/x")
    assert parse_role_arn("arn:aws:iam::111122223333:role/path/to/name") == ("111122223333", "name")


def test_job_is_in_the_code_location():
    from consoleme_assets.definitions import defs

    assert defs.resolve_job_def("refresh_iam_role_job")
    assert dg.Definitions.validate_loadable(defs) is None
