"""Role-change events as EventBridge delivers CloudTrail IAM calls to ConsoleMe's queue (spec §5.19), raw or
wrapped in an SNS notification; the sandbox queues a few (two good, three that name no refreshable role)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

ROLE_CHANGE_QUEUE = "consoleme-role-changes"  # in the hub, in the sandbox's region (sandbox.yaml names it)
UNKNOWN_ACCOUNT = "999999999999"  # not in the demo organisation: its event is dropped


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def role_change_event(
    account_id: str,
    role_name: str,
    event_name: str = "PutRolePolicy",
    when: dt.datetime | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event for an IAM call on `role_name`."""
    when = when or dt.datetime.now(dt.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": account_id,
        "time": _iso(when),
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventID": str(uuid.uuid4()),
            "eventTime": _iso(when),
            "eventSource": "iam.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "recipientAccountId": account_id,
            "userIdentity": {
                "type": "AssumedRole",
                "accountId": account_id,
                "arn": f"arn:aws:sts::{account_id}:assumed-role/admin/alice@example.com",
            },
            "requestParameters": {"roleName": role_name, "policyName": "sandbox-change"},
            "responseElements": None,
        },
    }


def sns_envelope(event: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    """The event as an SNS topic delivers it to a queue (raw message delivery off)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": json.dumps(event),
        "Timestamp": event.get("time", ""),
    }


def seed_role_change_queue(sqs: Any, hub_account_id: str, members: list[str], region: str) -> tuple[str, list[str]]:
    """Create the queue and send the sandbox's events; returns (queue ARN, the role ARNs the good ones name)."""
    url = sqs.create_queue(QueueName=ROLE_CHANGE_QUEUE)["QueueUrl"]
    topic = f"arn:aws:sns:{region}:{hub_account_id}:consoleme-role-changes"
    app, worker = (members[0], "demo-app"), (members[1 % len(members)], "demo-worker")  # demo-worker has a path
    no_detail = {k: v for k, v in role_change_event(members[0], "demo-app", region=region).items() if k != "detail"}
    bodies = [
        sns_envelope(role_change_event(*app, "PutRolePolicy", region=region), topic),
        role_change_event(*worker, "AttachRolePolicy", region=region),
        no_detail,  # ConsoleMe left this one in the queue forever
        role_change_event(UNKNOWN_ACCOUNT, "demo-app", region=region),
        "not json at all",
    ]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))
    arn = f"arn:aws:sqs:{region}:{hub_account_id}:{ROLE_CHANGE_QUEUE}"
    return arn, [f"arn:aws:iam::{a}:role/{name}" for a, name in (app, worker)]
