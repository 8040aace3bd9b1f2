"""CloudTrail-generated notifications end to end (issue 24 item 4, spec §5.22): the sandbox's seeded denies,
drained and counted, become `cloudtrail_generated_policy` items in consoleme_notifications for the principal's
owner (from IAM_ROLE_CACHE) and session user, and ALL_NOTIFICATIONS holds them for each of them at once. A second
run writes nothing: the items did not change."""

import json

import boto3
import dagster as dg
from boto3.dynamodb.types import TypeDeserializer

from consoleme_assets_tests.catalog import cloudtrail_denies, cloudtrail_errors_by_arn

from .test_denies_queue import run


def notifications_table() -> dict[str, dict]:
    d = TypeDeserializer()
    items = boto3.client("dynamodb").scan(TableName="consoleme_notifications")["Items"]
    return {i["predictable_id"]["S"]: {k: d.deserialize(v) for k, v in i.items()} for i in items}


def test_denies_become_notifications_for_the_owner_and_the_session_user(
    iam_ready, demo_org, instance, resources, redis_client
):
    prod = next(a for a, n in demo_org.accounts.items() if n == "demo-prod")
    app = f"arn:aws:iam::{prod}:role/demo-app"
    owner = json.loads(redis_client.hget("IAM_ROLE_CACHE", app))["owner"]
    assert owner

    result = run(instance, resources)
    assert result.success
    generated = {k: v for k, v in notifications_table().items() if v["type"] == "cloudtrail_generated_policy"}
    # (the sandbox seeds a few notifications of this type too; the one from the seeded deny is new)
    [(pid, item)] = [(k, v) for k, v in generated.items() if v["details"].get("event_call") == "s3:GetObject"]
    assert pid == f"cloudtrail_generated_policy-{owner}-demo-app-s3:GetObject-demo-prod-assets/reports/q3.csv"
    assert item["details"]["arn"] == app
    assert item["users_or_groups"] == {owner, "alice@example.com"}
    assert item["message_actions"][0]["uri"].startswith("/selfservice?encoded_request=")
    assert item["details"]["generated_policy"]["Statement"][0]["Action"] == ["s3:GetObject"]
    assert int(item["expiration"]) == int(item["event_time"]) + 86400
    for who in (owner, "alice@example.com"):
        cached = json.loads(redis_client.hget("ALL_NOTIFICATIONS", who))
        assert pid in {n["predictable_id"] for n in cached}, who
    meta = result.asset_materializations_for_node("cloudtrail_errors_by_arn")[0].metadata
    assert meta["generated_notifications"].value["new"] == 2  # demo-app's deny, and demo-worker's RunInstances

    again = dg.materialize([cloudtrail_denies, cloudtrail_errors_by_arn], instance=instance, resources=resources)
    meta = again.asset_materializations_for_node("cloudtrail_errors_by_arn")[0].metadata
    assert meta["generated_notifications"].value["new"] == meta["generated_notifications"].value["changed"] == 0
