"""`cache_presence_sensor`: a cache Dagster recorded but Redis lost is reported (its check fails) and refilled,
upstream first; an expired key or an empty hash is not a loss."""

import json

import dagster as dg

from consoleme_assets.cli.refresh import run_refresh
from consoleme_assets.definitions import build_resources
from consoleme_assets.definitions import defs as code_location
from consoleme_assets.lib.presence import SENSOR_NAME, places_of, refill_first

NAMES = [
    "aws_accounts",
    "iam_resources",
    "s3_buckets",
    "credential_authorization_mapping",
    "reverse_authorization_mapping",
    "policies_table",
]


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
    assert run_refresh(code_location, instance, NAMES, None, out=lambda line: None) == []
    quiet = evaluate(instance)
    assert not quiet.run_requests and not quiet.asset_events and "present" in quiet.skip_message

    redis_client.flushall()
    first = evaluate(instance)
    failed = {e.asset_key.to_user_string(): e for e in first.asset_events}
    assert set(failed) == set(NAMES)
    assert all(not e.passed and e.check_name == "cache_shape" for e in failed.values())
    assert "IAM_ROLE_CACHE does not exist" in failed["iam_resources"].description
    [refill] = first.run_requests  # only aws_accounts now: everything else is built from it
    assert [k.to_user_string() for k in refill.asset_selection] == ["aws_accounts"]
    assert refill.tags["consoleme_assets/dataset"] == "aws_accounts"

    # Same loss on the next tick, its refill not landed yet: no second failure event and no second refill.
    again = evaluate(instance, first.cursor)
    assert not again.asset_events and not again.run_requests

    # aws_accounts refilled: now the per-account datasets, in one run over every account partition.
    assert run_refresh(code_location, instance, ["aws_accounts"], None, out=lambda line: None) == []
    second = evaluate(instance, again.cursor)
    [per_account] = second.run_requests
    assert sorted(k.to_user_string() for k in per_account.asset_selection) == ["iam_resources", "s3_buckets"]
    accounts = instance.get_dynamic_partitions("aws_accounts")
    assert per_account.tags["dagster/asset_partition_range_start"] == accounts[0]
    assert per_account.tags["dagster/asset_partition_range_end"] == accounts[-1]
    assert not second.asset_events

    assert run_refresh(code_location, instance, NAMES, None, out=lambda line: None) == []
    healed = evaluate(instance, second.cursor)
    assert not healed.run_requests and json.loads(healed.cursor) == {"reported": [], "requested": {}}

    # A key that expired or was deleted by a writer keeps its LAST_UPDATED stamp: left to freshness, not refilled.
    redis_client.delete("ALL_POLICIES")
    expired = evaluate(instance, healed.cursor)
    assert not expired.run_requests and not expired.asset_events
