"""The one-role refresh job (ConsoleMe's refresh_iam_role) against moto and redis-server."""

import json

import boto3
import dagster as dg
import pytest

from consoleme_assets.iam.jobs import parse_role_arn, refresh_iam_role_job
from consoleme_assets.stores.dynamo_store import from_dynamo


def run_job(instance, resources, arn):
    return refresh_iam_role_job.execute_in_process(
        run_config={"ops": {"refresh_iam_role": {"config": {"role_arn": arn}}}},
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )


def action_of(result) -> str:
    return next(e for e in result.all_events if e.is_successful_output).event_specific_data.metadata["action"].value


def test_updates_then_removes_one_role(
    accounts_ready, demo_org, refresh_iam, redis_client, instance, resources, member_client
):
    assert refresh_iam().success
    member = demo_org.member_account_ids[0]
    arn = next(a for a in demo_org.roles[member] if not a.endswith("/ConsoleMe"))
    name = arn.split("/")[-1]
    iam = member_client(member, "iam")
    iam.tag_role(RoleName=name, Tags=[{"Key": "owner", "Value": "new-owner@example.com"}])
    others_before = {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if k != arn}

    assert run_job(instance, resources, arn).success
    entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", arn))
    # ConsoleMe's refresh_iam_role entry (spec §5.20): permissions_boundary, no owner, policy without RoleName/Id.
    assert set(entry) == {
        "arn",
        "name",
        "resourceId",
        "accountId",
        "ttl",
        "policy",
        "permissions_boundary",
        "templated",
    }
    assert entry["permissions_boundary"] == {} and entry["name"] == name
    detail = json.loads(entry["policy"])
    assert {"RolePolicyList", "AttachedManagedPolicies", "Tags", "AssumeRolePolicyDocument"} <= set(detail)
    assert not {"RoleName", "RoleId", "MaxSessionDuration"} & set(detail)
    assert {"Key": "owner", "Value": "new-owner@example.com"} in detail["Tags"]
    item = from_dynamo(
        boto3.resource("dynamodb")
        .Table("consoleme_iamroles_global")
        .get_item(Key={"arn": arn, "accountId": member})["Item"]
    )
    assert item == entry
    assert {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if k != arn} == others_before

    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName=name)
    result = run_job(instance, resources, arn)
    assert result.success and action_of(result) == "removed"
    assert not redis_client.hexists("IAM_ROLE_CACHE", arn)
    assert "Item" not in boto3.resource("dynamodb").Table("consoleme_iamroles_global").get_item(
        Key={"arn": arn, "accountId": member}
    )
    # The next account refresh agrees (the owner index no longer lists the role).
    assert refresh_iam(partition_key=member).success
    assert not redis_client.hexists("IAM_ROLE_CACHE", arn)
    # Never cached (and not in AWS): "not found", not "removed".
    assert action_of(run_job(instance, resources, arn)) == "not found"

    # The history (issue 22): the new owner tag, then the removal, each caused by refresh-role.
    from consoleme_assets.lib.resources import ConsoleMeResource
    from consoleme_assets.stores.history_store import ChangeHistory

    records = ChangeHistory(ConsoleMeResource().caches()).read(arn)
    assert [(r["change"], r["cause"]["type"]) for r in records] == [
        ("changed", "refresh_role"),
        ("removed", "refresh_role"),
    ]
    [owner] = [d for d in records[0]["diff"] if d["path"].startswith("policy.Tags[owner]")]
    assert "new-owner@example.com" in json.dumps(owner["new"])


def test_a_role_with_a_path_is_found_by_its_path_less_arn(
    accounts_ready, demo_org, refresh_iam, redis_client, instance, resources, member_client
):
    """Events name a role without its path: the refresh writes IAM's ARN, and removes it once the role is gone."""
    assert refresh_iam().success
    member = next(a for a in demo_org.member_account_ids if any("/service/" in r for r in demo_org.roles[a]))
    real = next(r for r in demo_org.roles[member] if "/service/" in r)
    name = real.rsplit("/", 1)[-1]
    path_less = f"arn:aws:iam::{member}:role/{name}"
    result = run_job(instance, resources, path_less)
    assert action_of(result) == "updated" and not redis_client.hexists("IAM_ROLE_CACHE", path_less)
    assert json.loads(redis_client.hget("IAM_ROLE_CACHE", real))["arn"] == real
    iam = member_client(member, "iam")
    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName=name)
    assert action_of(run_job(instance, resources, path_less)) == "removed"
    assert not redis_client.hexists("IAM_ROLE_CACHE", real)


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
