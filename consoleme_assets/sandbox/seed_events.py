"""Sandbox inputs for the event-driven caches: the CloudTrail denies queue with a few events (some malformed,
as a real queue gets them), the role-change queue (its events are in `events.py`) and a few ConsoleMe
notifications. Event times are relative to now: CloudTrail
events older than a day are rejected, so fixed times would turn every event into a rejection later."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from .events import seed_role_change_queue

DENIES_QUEUE = "consoleme-cloudtrail-denies"
NOTIFICATIONS_TABLE = "consoleme_notifications"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def cloudtrail_event(
    account_id: str,
    role_path_name: str,
    session: str,
    source: str,
    name: str,
    code: str,
    message: str,
    when: float,
    resources: list[str] | None = None,
) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event for an assumed-role session that was refused."""
    role_name = role_path_name.rsplit("/", 1)[-1]
    return {
        "version": "0",
        "id": f"{session}-{name}-{int(when)}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source.split('.')[0]}",
        "account": account_id,
        "time": _iso(when),
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventTime": _iso(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10",
            "errorCode": code,
            "errorMessage": message,
            "recipientAccountId": account_id,
            "userIdentity": {
                "type": "AssumedRole",
                "accountId": account_id,
                "arn": f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session}",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "accountId": account_id,
                        "userName": role_name,
                        "arn": f"arn:aws:iam::{account_id}:role/{role_path_name}",
                    }
                },
            },
            "resources": [{"ARN": arn, "type": "AWS::Unknown"} for arn in resources or []],
        },
    }


def denies_messages(prod: str, staging: str, now: float) -> list[str]:
    """Message bodies: four good events (two of them the same deny, one inside an SNS envelope; three items)
    and five to reject (no detail, too old, no session issuer, unknown account, not JSON)."""
    s3_deny = cloudtrail_event(
        prod,
        "demo-app",
        "alice@example.com",
        "s3.amazonaws.com",
        "GetObject",
        "AccessDenied",
        f"User: arn:aws:sts::{prod}:assumed-role/demo-app/alice@example.com is not authorized to perform: "
        f"s3:GetObject on resource: arn:aws:s3:::demo-prod-assets/reports/q3.csv",
        now - 600,
    )
    ec2_deny = cloudtrail_event(
        staging,
        "service/demo-worker",
        "i-0abc123",
        "ec2.amazonaws.com",
        "RunInstances",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        now - 300,
        [f"arn:aws:ec2:us-east-1:{staging}:instance/*", f"arn:aws:ec2:us-east-1:{staging}:subnet/subnet-0123456789"],
    )
    throttled = cloudtrail_event(
        prod,
        "service/demo-worker",
        "job-42",
        "sqs.amazonaws.com",
        "SendMessage",
        "ThrottlingException",
        "Rate exceeded",
        now - 120,
    )
    old = cloudtrail_event(
        prod, "demo-app", "bob@example.com", "s3.amazonaws.com", "PutObject", "AccessDenied", "denied", now - 3 * 86400
    )
    iam_user = cloudtrail_event(
        prod, "demo-app", "carol", "iam.amazonaws.com", "ListRoles", "AccessDenied", "x", now - 60
    )
    del iam_user["detail"]["userIdentity"]["sessionContext"]  # an IAM user's call: no session issuer
    stranger = cloudtrail_event(
        "999999999999", "intruder", "eve", "s3.amazonaws.com", "ListBuckets", "AccessDenied", "denied", now - 60
    )  # an account outside the organisation
    return [
        json.dumps(s3_deny),
        json.dumps({"Type": "Notification", "Message": json.dumps({**s3_deny, "id": "again"})}),  # via SNS
        json.dumps(ec2_deny),
        json.dumps(throttled),
        json.dumps({"version": "0", "detail-type": "Scheduled Event"}),  # no detail
        json.dumps(old),
        json.dumps(iam_user),
        json.dumps(stranger),
        "{not json",
    ]


def notification_items(member_ids: dict[str, str], now: float) -> list[dict[str, Any]]:
    prod = member_ids["demo-prod"]

    def item(pid: str, targets: list[str], event_time: float, expiration: float, header: str) -> dict[str, Any]:
        return {
            "predictable_id": pid,
            "type": "cloudtrail_generated_policy",
            "users_or_groups": targets,
            "event_time": int(event_time),
            "expiration": int(expiration),
            "expired": False,
            "header": header,
            "message": f"{header}: a policy was generated for the denied call.",
            "message_actions": [
                {"http_method": "get", "text": "Request permission", "uri": "/selfservice?encoded_request=e30="}
            ],
            "details": {"arn": f"arn:aws:iam::{prod}:role/demo-app"},
            "read_by_users": [],
            "read_by_all": False,
            "hidden_for_users": [],
            "hidden_for_all": False,
            "version": 1,
        }

    return [
        item(
            f"cloudtrail_generated_policy-team-x@example.com-demo-app-s3:GetObject-{prod}",
            ["team-x@example.com", "alice@example.com"],
            now - 600,
            now + 86400,
            "s3:GetObject denied",
        ),
        item(
            "cloudtrail_generated_policy-team-y@example.com-demo-worker-sns:Publish-old",
            ["team-y@example.com"],
            now - 3 * 86400,
            now - 2 * 86400,
            "sns:Publish denied",
        ),  # expired
    ]


@dataclass(frozen=True)
class EventInputs:
    """The hub's queues the sandbox filled: their ARNs, and the role ARNs the good role-change events name."""

    denies_queue: str
    role_change_queue: str
    role_changes: list[str]


def seed_event_inputs(aws: Any, member_ids: dict[str, str], region: str, hub_account_id: str) -> EventInputs:
    """Create and fill the hub's CloudTrail denies queue and role-change queue (`events.py`), and put the
    notifications. `member_ids` maps the member accounts' labels to their ids, in the organisation's order."""
    sqs = aws.client("sqs", region=region)
    url = sqs.create_queue(QueueName=DENIES_QUEUE)["QueueUrl"]
    now = time.time()
    for body in denies_messages(member_ids["demo-prod"], member_ids["demo-staging"], now):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    serializer = TypeSerializer()
    dynamodb = aws.client("dynamodb", region=region)
    for note in notification_items(member_ids, now):
        dynamodb.put_item(TableName=NOTIFICATIONS_TABLE, Item={k: serializer.serialize(v) for k, v in note.items()})
    role_change_queue, role_changes = seed_role_change_queue(sqs, hub_account_id, list(member_ids.values()), region)
    return EventInputs(f"arn:aws:sqs:{region}:{hub_account_id}:{DENIES_QUEUE}", role_change_queue, role_changes)
