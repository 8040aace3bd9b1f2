"""`cache_presence_sensor`: a cache Dagster recorded but Redis lost is reported (its check fails) and refilled,
upstream first; an expired key or an empty hash is not a loss."""

import json

import dagster as dg

from consoleme_assets.cli.refresh import run_refresh
from consoleme_assets.definitions import build_resources
from consoleme_assets.definitions import defs as code_location
from consoleme_assets.iam.datasets import IAM_STORAGE
from consoleme_assets.lib.presence import SENSOR_NAME, places_of, refill_first
from consoleme_assets.stores.iam_cache import IamCache

NAMES = [
    "aws_accounts",
    "iam_resources",
    "s3_buckets",
    "credential_authorization_mapping",
    "reverse_authorization_mapping",
    "policies_table",
]
# The rest of what policies_table is built from: it is not built until each has been refreshed once.
POLICIES_UPSTREAM = ["sns_topics", "sqs_queues", "managed_policies", "aws_config_resources", "cloudtrail_errors_by_arn"]
REFRESHED = NAMES + POLICIES_UPSTREAM


def evaluate(instance: dg.DagsterInstance, cursor: str | None = None):
    sensor = code_location.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=build_resources(), definitions=code_location
    ) as context:
        return sensor.evaluate_tick(context)


def test_refill_order_follows_the_asset_graph():
    datasets = places_of(code_location, NAMES)
    assert datasets["iam_resources"].partitioned and not datasets["policies_table"].partitioned
    assert datasets["credential_authorization_mapping"].op_siblings == {
        "credential_authorization_mapping",
        "reverse_authorization_mapping",
    }
    assert "aws_accounts" in datasets["policies_table"].ancestors
    assert refill_first(set(NAMES), datasets) == ["aws_accounts"]
    assert refill_first(set(NAMES) - {"aws_accounts"}, datasets) == ["iam_resources", "s3_buckets"]
    assert refill_first({"policies_table", "credential_authorization_mapping"}, datasets) == [
        "credential_authorization_mapping",
        "policies_table",
    ]


def test_flushed_redis_fails_checks_once_and_requests_refills_upstream_first(sandbox_env, instance, redis_client):
    assert run_refresh(code_location, instance, REFRESHED, None, out=lambda line: None) == []
    quiet = evaluate(instance)
    assert not quiet.run_requests and not quiet.asset_events and "present" in quiet.skip_message

    redis_client.flushall()
    first = evaluate(instance)
    failed = {e.asset_key.to_user_string(): e for e in first.asset_events}
    assert set(failed) == set(REFRESHED)
    assert all(not e.passed and e.check_name == "cache_shape" for e in failed.values())
    assert "IAM_ROLE_CACHE does not exist" in failed["iam_resources"].description
    [refill] = first.run_requests  # only what is built from nothing lost: the rest waits for aws_accounts
    assert [k.to_user_string() for k in refill.asset_selection] == ["aws_accounts", "cloudtrail_errors_by_arn"]
    assert refill.tags["consoleme_assets/dataset"] == "aws_accounts,cloudtrail_errors_by_arn"

    # Same loss on the next tick, its refill not landed yet: no second failure event and no second refill.
    again = evaluate(instance, first.cursor)
    assert not again.asset_events and not again.run_requests

    # aws_accounts refilled: now the per-account datasets, in one run over every account partition.
    refilled = ["aws_accounts", "cloudtrail_errors_by_arn"]
    assert run_refresh(code_location, instance, refilled, None, out=lambda line: None) == []
    second = evaluate(instance, again.cursor)
    [per_account] = second.run_requests
    assert sorted(k.to_user_string() for k in per_account.asset_selection) == [
        "aws_config_resources",
        "iam_resources",
        "managed_policies",
        "s3_buckets",
        "sns_topics",
        "sqs_queues",
    ]
    accounts = instance.get_dynamic_partitions("aws_accounts")
    assert per_account.tags["dagster/asset_partition_range_start"] == accounts[0]
    assert per_account.tags["dagster/asset_partition_range_end"] == accounts[-1]
    assert not second.asset_events
    # One account refilled of several: still lost (its refill lands account by account), but not asked again.
    accounts_done = run_refresh(code_location, instance, ["iam_resources"], {accounts[0]}, out=lambda line: None)
    assert accounts_done == []
    third = evaluate(instance, second.cursor)
    assert not third.run_requests and not third.asset_events

    assert run_refresh(code_location, instance, REFRESHED, None, out=lambda line: None) == []
    healed = evaluate(instance, second.cursor)
    assert not healed.run_requests and json.loads(healed.cursor) == {"reported": [], "requested": {}}

    # A key that expired or was deleted by a writer keeps its LAST_UPDATED stamp: left to freshness, not refilled.
    redis_client.delete("ALL_POLICIES")
    expired = evaluate(instance, healed.cursor)
    assert not expired.run_requests and not expired.asset_events


def test_a_cache_refilled_by_one_role_event_is_still_lost_and_nothing_is_built_from_it(
    sandbox_env, instance, redis_client
):
    """A flushed Redis, then a role-change event writing one role: IAM_ROLE_CACHE exists again, the other roles
    and accounts do not. The cache is still lost (refilled), and the credential mapping is not built from it."""
    assert run_refresh(code_location, instance, NAMES[:3], None, out=lambda line: None) == []
    arn, raw = next(iter(redis_client.hgetall("IAM_ROLE_CACHE").items()))
    accounts = instance.get_dynamic_partitions("aws_accounts")
    redis_client.flushall()
    iam = IamCache(build_resources()["consoleme"].caches(), IAM_STORAGE)
    iam.write_role(json.loads(raw))  # what the role-change sensor's run writes
    assert redis_client.hkeys("IAM_ROLE_CACHE") == [arn]

    tick = evaluate(instance)
    failed = {e.asset_key.to_user_string(): e for e in tick.asset_events}
    assert "iam_resources" in failed
    description = failed["iam_resources"].description
    assert f"the entries of {len(accounts)} refreshed account(s) gone" in description, description
    assert "IAM_USER_CACHE does not exist" in description

    lines: list[str] = []
    failures = run_refresh(
        code_location,
        instance,
        ["credential_authorization_mapping", "reverse_authorization_mapping"],
        None,
        out=lines.append,
    )
    assert failures, "the mapping was built from an IAM cache holding one role"
    text = "\n".join(failures + lines)
    assert "upstream is incomplete" in text and "iam_resources" in text, text
    assert not redis_client.exists("CREDENTIAL_AUTHORIZATION_MAPPING_V1")  # not written from the one role

    # A scheduled run (its tick saw the cache whole just before a flush) is not red: it records why on the asset
    # page and materializes nothing.
    mapping = code_location.resolve_assets_def("credential_authorization_mapping")
    scheduled = dg.materialize(
        [mapping], instance=instance, tags={"dagster/schedule_name": "credential_mapping_every_5_minutes"}
    )
    assert scheduled.success and not scheduled.get_asset_materialization_events()
    [observed, _reverse] = [e.event_specific_data.asset_observation for e in scheduled.get_asset_observation_events()]
    assert "upstream is incomplete" in observed.description and "iam_resources" in observed.description
    assert not redis_client.exists("CREDENTIAL_AUTHORIZATION_MAPPING_V1")

    # Refilled by a full refresh: whole again, and the mapping builds.
    assert run_refresh(code_location, instance, ["iam_resources"], None, out=lambda line: None) == []
    assert arn in redis_client.hkeys("IAM_ROLE_CACHE") and len(redis_client.hkeys("IAM_ROLE_CACHE")) > 1
    assert (
        run_refresh(
            code_location,
            instance,
            ["credential_authorization_mapping", "reverse_authorization_mapping"],
            None,
            out=lambda line: None,
        )
        == []
    )
    assert redis_client.exists("CREDENTIAL_AUTHORIZATION_MAPPING_V1")
