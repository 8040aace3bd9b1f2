"""SQS queues that feed consoleme-assets (ConsoleMe's EventBridge -> SQS integrations): plain functions over a
boto3 SQS client. Every AWS error comes back as `QueueError`, naming the queue ARN."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .sessions import AwsSessions, describe_aws_error

MAX_BATCH = 10  # SQS's limit for ReceiveMessage and DeleteMessageBatch


class QueueError(RuntimeError):
    """A queue could not be reached or used (missing, AccessDenied, malformed ARN, ...)."""

    def __init__(self, queue_arn: str, message: str):
        super().__init__(f"SQS queue {queue_arn}: {message}")
        self.queue_arn = queue_arn


@dataclass(frozen=True)
class QueueArn:
    arn: str
    region: str
    account_id: str
    name: str


def parse_queue_arn(arn: str) -> QueueArn:
    """`arn:aws:sqs:<region>:<account>:<name>`, else QueueError."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise QueueError(str(arn), "not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)")
    return QueueArn(arn, parts[3], parts[4], parts[5])


def queue_client(sessions: AwsSessions, queue: QueueArn, assume_role: str | None) -> Any:
    """An SQS client in the queue's region: through `assume_role` in the queue's account, else our own."""
    if assume_role:
        return sessions.client("sqs", account_id=queue.account_id, region=queue.region, role_name=assume_role)
    return sessions.client("sqs", region=queue.region)


def queue_url_from_arn(client: Any, queue: QueueArn) -> str:
    try:
        return client.get_queue_url(QueueName=queue.name, QueueOwnerAWSAccountId=queue.account_id)["QueueUrl"]
    except (ClientError, BotoCoreError) as exc:
        raise QueueError(queue.arn, describe_aws_error(exc)) from None


def approximate_message_count(client: Any, queue: QueueArn, url: str) -> int:
    """Messages waiting (visible) on the queue, as SQS estimates them."""
    try:
        attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    except (ClientError, BotoCoreError) as exc:
        raise QueueError(queue.arn, describe_aws_error(exc)) from None
    return int(attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


def receive_messages(client: Any, queue: QueueArn, url: str, max_messages: int = MAX_BATCH) -> list[dict[str, Any]]:
    """Up to `max_messages` (at most 10) messages, without waiting; [] when the queue is empty."""
    try:
        answer = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max(1, min(MAX_BATCH, max_messages)), WaitTimeSeconds=0
        )
    except (ClientError, BotoCoreError) as exc:
        raise QueueError(queue.arn, describe_aws_error(exc)) from None
    return list(answer.get("Messages", []))


def delete_messages(client: Any, queue: QueueArn, url: str, messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Delete the messages (batches of 10); returns the ids SQS refused to delete (they come back later)."""
    entries = [{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in messages]
    failed: list[str] = []
    for start in range(0, len(entries), MAX_BATCH):
        batch = entries[start:start + MAX_BATCH]
        try:
            answer = client.delete_message_batch(QueueUrl=url, Entries=batch)
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(queue.arn, describe_aws_error(exc)) from None
        failed += [f["Id"] for f in answer.get("Failed", [])]
    return failed
