"""iam_role_limits (+ its check) and the IAM cache cleanup job, against moto and redis-server."""

import json
import time

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets.iam.cleanup import expired_roles, iam_cache_cleanup_job
from consoleme_assets.iam.limits import iam_role_limits_within_quota, role_usage
from consoleme_assets_tests.catalog import iam_role_limits


def test_role_usage_ratio():
    assert role_usage({"Roles": 800, "RolesQuota": 1000}) == {"roles": 800, "quota": 1000, "ratio": 0.8}
    assert role_usage({"Roles": 3, "RolesQuota": 0})["ratio"] == 0.0


def test_limits_asset_and_check(accounts_ready, demo_org, instance, resources, tmp_path, sandbox_env):
    result = dg.materialize([iam_role_limits, iam_role_limits_within_quota], instance=instance, resources=resources)
    assert result.success
    meta = result.asset_materializations_for_node("iam_role_limits")[0].metadata
    usage = meta["usage"].value
    assert set(usage) == set(demo_org.accounts)
    for account_id, u in usage.items():
        assert u["roles"] == len(demo_org.roles[account_id]) and u["quota"] > 0
    check = result.get_asset_check_evaluations()[0]
    assert check.passed

    busiest = max(usage, key=lambda a: usage[a]["ratio"])
    cfg = tmp_path / "tight.yaml"  # thresholds below the seeded usage: the check must name the account
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "consoleme_assets: {iam_role_limits: {warn_ratio: 0.00001, fail_ratio: 0.00002}}\n"
    )
    result = dg.materialize(
        [iam_role_limits, iam_role_limits_within_quota],
        instance=instance,
        resources=build_resources(str(cfg)),
        raise_on_error=False,
    )
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert busiest in check.description


def test_expired_roles_rule():
    now = 1_000_000
    entries = [
        ("arn:aws:iam::111111111111:role/fresh", {"accountId": "111111111111", "ttl": now + 10}),
        ("arn:aws:iam::111111111111:role/old", {"accountId": "111111111111", "ttl": now - 10}),
        ("arn:aws:iam::999999999999:role/closed", {"accountId": "999999999999", "ttl": now + 10}),
    ]
    assert expired_roles(entries, {"111111111111"}, now) == {
        "arn:aws:iam::111111111111:role/old": "ttl passed",
        "arn:aws:iam::999999999999:role/closed": "account gone",
    }


def test_cleanup_job_removes_gone_and_expired(accounts_ready, demo_org, refresh_iam, redis_client, instance, resources):
    assert refresh_iam().success
    member = demo_org.member_account_ids[0]
    stale_arn = demo_org.roles[member][0]
    entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", stale_arn))
    entry["ttl"] = int(time.time()) - 60
    redis_client.hset("IAM_ROLE_CACHE", stale_arn, json.dumps(entry))
    ghost = "arn:aws:iam::999999999999:role/from-a-closed-account"
    redis_client.hset("IAM_ROLE_CACHE", ghost, json.dumps({"arn": ghost, "accountId": "999999999999", "ttl": 2**31}))
    table = boto3.resource("dynamodb").Table("consoleme_iamroles_global")
    table.put_item(Item={"arn": ghost, "accountId": "999999999999"})
    before = redis_client.hlen("IAM_ROLE_CACHE")

    result = iam_cache_cleanup_job.execute_in_process(instance=instance, resources=resources)
    assert result.success
    assert not redis_client.hexists("IAM_ROLE_CACHE", stale_arn) and not redis_client.hexists("IAM_ROLE_CACHE", ghost)
    assert redis_client.hlen("IAM_ROLE_CACHE") == before - 2
    assert "Item" not in table.get_item(Key={"arn": ghost, "accountId": "999999999999"})
    assert "Item" not in table.get_item(Key={"arn": stale_arn, "accountId": member})


def test_cleanup_refuses_without_account_list(sandbox_env, instance, resources, redis_client):
    redis_client.hset("IAM_ROLE_CACHE", "arn:aws:iam::111111111111:role/x", json.dumps({"ttl": 1}))
    result = iam_cache_cleanup_job.execute_in_process(instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    assert redis_client.hexists("IAM_ROLE_CACHE", "arn:aws:iam::111111111111:role/x")
