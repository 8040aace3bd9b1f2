"""`notifications`: consoleme_notifications -> ALL_NOTIFICATIONS + S3 (§5.23), expired ones marked in the
table, stale users/groups removed from the hash."""

import gzip
import json
import time

import boto3
import dagster as dg
from boto3.dynamodb.types import TypeSerializer

from consoleme_assets.notifications.records import group_notifications, notification
from consoleme_assets_tests.catalog import notifications
from consoleme_assets_tests.consoleme_fields import NOTIFICATION_FIELDS

TABLE = "consoleme_notifications"
KEY = "ALL_NOTIFICATIONS"
S3_KEY = "notifications/all_notifications_v1.json.gz"


def minimal(pid, targets, expiration, **extra):
    return {
        "predictable_id": pid,
        "type": "cloudtrail_generated_policy",
        "users_or_groups": targets,
        "event_time": 1_700_000_000,
        "expiration": expiration,
        "message": f"message {pid}",
        **extra,
    }


def test_notification_shape_and_defaults():
    note = notification(minimal("n1", {"b@example.com", "a@example.com"}, 1_800_000_000))
    assert list(note) == NOTIFICATION_FIELDS
    assert note == {
        "predictable_id": "n1",
        "type": "cloudtrail_generated_policy",
        "users_or_groups": ["a@example.com", "b@example.com"],
        "event_time": 1_700_000_000,
        "expiration": 1_800_000_000,
        "expired": False,
        "header": None,
        "message": "message n1",
        "message_actions": [],
        "details": {},
        "read_by_users": [],
        "read_by_all": False,
        "hidden_for_users": [],
        "hidden_for_all": False,
        "read_for_current_user": False,
        "version": 1,
    }


def test_grouping_expiry_and_bad_items():
    grouped = group_notifications(
        [
            minimal("n2", ["team@example.com"], 2_000),
            minimal("n1", ["team@example.com", "alice@example.com"], 5_000),
            {"predictable_id": "bad", "type": "x"},
            minimal("n3", ["bob@example.com"], 10, expired=True),  # already marked: not written again
            minimal("n4", "not-a-list", 5_000),
        ],
        now=3_000,
    )
    assert list(grouped.by_user_or_group) == ["alice@example.com", "bob@example.com", "team@example.com"]
    assert [n["predictable_id"] for n in grouped.by_user_or_group["team@example.com"]] == ["n1", "n2"]
    assert grouped.by_user_or_group["team@example.com"][1]["expired"] is True
    assert [n["predictable_id"] for n in grouped.newly_expired] == ["n2"]
    assert grouped.notifications == 3
    assert grouped.problems == [
        "notification bad: missing users_or_groups, event_time, expiration, message",
        "notification n4: users_or_groups is not a list or set",
    ]


def put(item):
    serializer = TypeSerializer()
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={k: serializer.serialize(v) for k, v in item.items()})


def test_asset_writes_hash_and_s3_marks_expired_and_drops_stale_fields(
    sandbox_env, demo_org, instance, resources, redis_client
):
    # The sandbox seeds two notifications (one expired); a user no longer notified has a stale field.
    redis_client.hset(KEY, "gone@example.com", json.dumps([{"predictable_id": "old"}]))
    result = dg.materialize([notifications], instance=instance, resources=resources)
    assert result.success
    hashed = {k: json.loads(v) for k, v in redis_client.hgetall(KEY).items()}
    assert sorted(hashed) == ["alice@example.com", "team-x@example.com", "team-y@example.com"]
    current = hashed["alice@example.com"][0]
    assert list(current) == NOTIFICATION_FIELDS and current["expired"] is False
    assert current["message_actions"] == [
        {"http_method": "get", "text": "Request permission", "uri": "/selfservice?encoded_request=e30="}
    ]
    assert hashed["team-y@example.com"][0]["expired"] is True
    expired_id = hashed["team-y@example.com"][0]["predictable_id"]
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"predictable_id": {"S": expired_id}})["Item"]
    assert stored["expired"] == {"BOOL": True}

    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    data = json.loads(gzip.decompress(body))["data"]
    assert data == redis_client.hgetall(KEY)  # {user_or_group: "<json list>"}, as ConsoleMe's S3 copy
    meta = result.asset_materializations_for_node("notifications")[0].metadata
    assert meta["dagster/row_count"].value == 2 and meta["newly_expired"].value == 1
    assert "1 stale fields deleted" in meta["notes"].value

    # A new notification appears at the next refresh; nothing is rewritten as expired twice.
    put(minimal("fresh", ["groupa@example.com"], int(time.time()) + 600))
    second = dg.materialize([notifications], instance=instance, resources=resources)
    assert "groupa@example.com" in redis_client.hkeys(KEY)
    assert second.asset_materializations_for_node("notifications")[0].metadata["newly_expired"].value == 0


def test_failed_scan_keeps_the_hash(sandbox_env, demo_org, instance, resources, redis_client):
    redis_client.hset(KEY, "alice@example.com", "[]")
    boto3.client("dynamodb").delete_table(TableName=TABLE)
    result = dg.materialize([notifications], instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    assert "DynamoDB table consoleme_notifications: Scan: ResourceNotFoundException" in str(
        result.get_step_failure_events()[0].step_failure_data.error
    )
    assert redis_client.hgetall(KEY) == {"alice@example.com": "[]"}
