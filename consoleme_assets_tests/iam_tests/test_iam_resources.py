"""`iam_resources` end to end against moto and redis-server: ConsoleMe's exact shapes, and replacement."""

import json
from decimal import Decimal

import boto3
import dagster as dg
from botocore.exceptions import ClientError

from consoleme_assets.definitions import build_resources
from consoleme_assets.iam import refresh as iam_assets
from consoleme_assets.lib.partitions import aws_accounts_partitions
from consoleme_assets.stores.encoding import open_envelope

ROLE_FIELDS = {"arn", "name", "resourceId", "accountId", "ttl", "owner", "policy", "templated"}


def hash_of(redis_client, key):
    return {k: json.loads(v) for k, v in redis_client.hgetall(key).items()}


def s3_data(bucket, key):
    return open_envelope(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read(), gz=True)["data"]


def test_every_account_in_consoleme_shapes(accounts_ready, demo_org, refresh_iam, redis_client):
    result = refresh_iam()
    assert result.success
    roles = hash_of(redis_client, "IAM_ROLE_CACHE")
    assert set(roles) == {arn for arns in demo_org.roles.values() for arn in arns}
    for arn, entry in roles.items():
        assert set(entry) == ROLE_FIELDS and entry["arn"] == arn
        assert entry["accountId"] == arn.split(":")[4]
        detail = json.loads(entry["policy"])
        assert detail["Arn"] == arn and detail["RoleName"] == entry["name"] == arn.split("/")[-1]
        assert detail["CreateDate"].endswith("Z") and "AssumeRolePolicyDocument" in detail
        owner = {t["Key"]: t["Value"] for t in detail.get("Tags", [])}.get("owner")
        assert entry["owner"] == owner
    assert any(e["owner"] for e in roles.values())  # the seed tags roles with an owner
    users = hash_of(redis_client, "IAM_USER_CACHE")
    assert set(users) == {a for arns in demo_org.users.values() for a in arns}
    assert all(u["templated"] is False and u["owner"] for u in users.values())
    groups = hash_of(redis_client, "IAM_GROUP_CACHE")
    assert set(groups) == {a for arns in demo_org.groups.values() for a in arns}
    assert all("owner" not in g for g in groups.values())
    policies = hash_of(redis_client, "IAM_POLICY_CACHE")
    assert {a for arns in demo_org.managed_policies.values() for a in arns} <= set(policies)

    table = boto3.resource("dynamodb").Table("consoleme_iamroles_global")
    items = table.scan()["Items"]
    assert {(i["arn"], i["accountId"]) for i in items} == {(a, e["accountId"]) for a, e in roles.items()}
    assert all(isinstance(i["ttl"], Decimal) for i in items)

    member = demo_org.member_account_ids[0]
    gaad = s3_data(
        demo_org.cache_bucket,
        f"get_account_authorization_details/get_account_authorization_details_{member}_v1.json.gz",
    )
    assert {r["Arn"] for r in gaad["RoleDetailList"]} == set(demo_org.roles[member])
    assert isinstance(gaad["RoleDetailList"][0]["CreateDate"], float)  # epoch, as ConsoleMe's SetEncoder
    per_type = s3_data(demo_org.cache_bucket, f"account_resource_cache/cache_iam_users_{member}_v1.json.gz")
    assert {u["Arn"] for u in per_type} == set(demo_org.users[member])
    combined = s3_data(demo_org.cache_bucket, "account_resource_cache/cache_all_roles_v1.json.gz")
    assert {k: json.loads(v) for k, v in combined.items()} == roles

    mats = {
        e.event_specific_data.materialization.partition: e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(mats) == set(demo_org.accounts)
    assert mats[member]["counts"].value["roles"] == len(demo_org.roles[member])


def test_deleted_principals_vanish_other_accounts_untouched(
    accounts_ready, demo_org, refresh_iam, redis_client, member_client
):
    assert refresh_iam().success
    member, other = demo_org.member_account_ids[:2]
    before_other = {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if f":{other}:" in k}
    iam = member_client(member, "iam")
    role_arn = next(a for a in demo_org.roles[member] if not a.endswith("/ConsoleMe"))
    role_name = role_arn.split("/")[-1]
    for p in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role_name, PolicyName=p)
    for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role_name, PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName=role_name)
    user_arn = demo_org.users[member][0]
    user_name = user_arn.split("/")[-1]
    for g in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        iam.remove_user_from_group(GroupName=g["GroupName"], UserName=user_name)
    for p in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
        iam.delete_user_policy(UserName=user_name, PolicyName=p)
    iam.delete_user(UserName=user_name)

    assert refresh_iam(partition_key=member).success
    roles = redis_client.hgetall("IAM_ROLE_CACHE")
    assert role_arn not in roles and user_arn not in redis_client.hgetall("IAM_USER_CACHE")
    assert {a for a in roles if f":{member}:" in a} == set(demo_org.roles[member]) - {role_arn}
    assert {k: v for k, v in roles.items() if f":{other}:" in k} == before_other
    table = boto3.resource("dynamodb").Table("consoleme_iamroles_global")
    assert "Item" not in table.get_item(Key={"arn": role_arn, "accountId": member})


def test_role_filter_and_templated(accounts_ready, demo_org, refresh_iam, redis_client, tmp_path, sandbox_env):
    member = demo_org.member_account_ids[0]
    templated_arn = demo_org.roles[member][0]
    redis_client.hset("TEMPLATED_ROLES_v2", templated_arn.lower(), "https://git.example/templates/role.yaml")
    cfg = tmp_path / "filter.yaml"
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        f"roles: {{allowed_tag_keys: [consoleme-authorized], allowed_arns: ['{templated_arn}']}}\n"
    )
    result = refresh_iam(resources=build_resources(str(cfg)), partition_key=member)
    assert result.success
    roles = hash_of(redis_client, "IAM_ROLE_CACHE")
    assert templated_arn in roles
    assert roles[templated_arn]["templated"] == "https://git.example/templates/role.yaml"
    for entry in roles.values():
        tags = {t["Key"] for t in json.loads(entry["policy"]).get("Tags", [])}
        assert entry["arn"] == templated_arn or "consoleme-authorized" in tags
    meta = result.get_asset_materialization_events()[0].event_specific_data.materialization.metadata
    assert meta["roles_filtered_out"].value == len(demo_org.roles[member]) - len(roles) > 0


def test_one_denied_account_keeps_its_cache(accounts_ready, demo_org, refresh_iam, redis_client, instance, monkeypatch):
    assert refresh_iam().success
    denied = demo_org.member_account_ids[1]
    before = {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if f":{denied}:" in k}
    real = iam_assets.account_authorization_details

    def gaad_or_deny(sessions, account_id):
        if account_id == denied:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "spoke role denied"}}, "GetAccountAuthorizationDetails"
            )
        return real(sessions, account_id)

    monkeypatch.setattr(iam_assets, "account_authorization_details", gaad_or_deny)
    result = refresh_iam()
    assert not result.success
    assert (
        "AccessDenied: spoke role denied"
        in result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    )
    after = {k: v for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items() if f":{denied}:" in k}
    assert after == before
    status = instance.get_status_by_partition(dg.AssetKey("iam_resources"), [denied], aws_accounts_partitions)
    assert status[denied] == dg.AssetPartitionStatus.FAILED


def test_replica_hydrates_from_dynamodb_and_s3(
    accounts_ready, demo_org, refresh_iam, redis_client, tmp_path, sandbox_env, monkeypatch
):
    assert refresh_iam().success
    primary = {k: hash_of(redis_client, k) for k in ("IAM_ROLE_CACHE", "IAM_USER_CACHE", "IAM_GROUP_CACHE")}
    for key in list(primary) + ["IAM_POLICY_CACHE"]:
        redis_client.delete(key)
    for key in redis_client.keys("consoleme_assets:owned:*"):
        redis_client.delete(key)

    def no_aws(*args, **kwargs):
        raise AssertionError("a replica must not call IAM")

    monkeypatch.setattr(iam_assets, "account_authorization_details", no_aws)
    cfg = tmp_path / "replica.yaml"
    cfg.write_text(f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\ncelery: {{active_region: eu-west-1}}\n")
    result = refresh_iam(resources=build_resources(str(cfg)))
    assert result.success
    for key, entries in primary.items():
        assert hash_of(redis_client, key) == entries
