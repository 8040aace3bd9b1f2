"""The SQS queues that feed consoleme-assets (ConsoleMe's `event_bridge.*.queue_arn`: role changes, CloudTrail
denies): plain functions over a boto3 SQS client. A malformed ARN is a ValueError naming it; every failure to
reach or use the queue (AWS error, refused assume_role) is a `QueueError` naming the queue's ARN."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .sessions import AccountAccessError, AwsSessions, describe_aws_error

_QUEUE_ARN_RE = re.compile(
    r"^arn:(?P<partition>[\w-]+):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[\w-]{1,80}(\.fifo)?)$"
)
RECEIVE_LIMIT = 10  # ReceiveMessage's and DeleteMessageBatch's maximum
_AWS_ERRORS = (ClientError, BotoCoreError, AccountAccessError)


class QueueError(RuntimeError):
    """A queue could not be reached or used (missing, AccessDenied, the assume_role refused, ...)."""

    def __init__(self, queue_arn: str, message: str):
        super().__init__(f"SQS queue {queue_arn}: {message}")
        self.queue_arn = queue_arn


@dataclass(frozen=True)
class QueueRef:
    arn: str
    partition: str
    region: str
    account_id: str
    name: str


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    sent_at: dt.datetime | None
    receive_count: int


def parse_queue_arn(arn: str) -> QueueRef:
    """ValueError naming the ARN when it is not `arn:<partition>:sqs:<region>:<account>:<name>`."""
    match = _QUEUE_ARN_RE.match(arn if isinstance(arn, str) else "")
    if not match:
        raise ValueError(f"queue ARN {arn!r} is not arn:<partition>:sqs:<region>:<12-digit account>:<queue name>")
    return QueueRef(arn, match["partition"], match["region"], match["account"], match["name"])


def _queue_error(queue: QueueRef, exc: BaseException) -> QueueError:
    problem = str(exc) if isinstance(exc, AccountAccessError) else describe_aws_error(exc)
    return QueueError(queue.arn, problem)


def queue_client(sessions: AwsSessions, queue: QueueRef, assume_role: str | None) -> Any:
    """An SQS client in the queue's region: through `assume_role` (a role name in the queue's account) when set,
    else with our own credentials (as ConsoleMe: no spoke role for the queue)."""
    try:
        if assume_role:
            return sessions.client("sqs", account_id=queue.account_id, region=queue.region, role_name=assume_role)
        return sessions.client("sqs", region=queue.region)
    except _AWS_ERRORS as exc:
        raise _queue_error(queue, exc) from None


def queue_url(client: Any, queue: QueueRef) -> str:
    try:
        return client.get_queue_url(QueueName=queue.name, QueueOwnerAWSAccountId=queue.account_id)["QueueUrl"]
    except _AWS_ERRORS as exc:
        raise _queue_error(queue, exc) from None


def approximate_message_count(client: Any, queue: QueueRef, url: str) -> int:
    """Messages waiting (visible) on the queue, as SQS estimates them."""
    try:
        attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    except _AWS_ERRORS as exc:
        raise _queue_error(queue, exc) from None
    return int(attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


def _sent_at(message: dict[str, Any]) -> dt.datetime | None:
    millis = (message.get("Attributes") or {}).get("SentTimestamp")
    try:
        return dt.datetime.fromtimestamp(int(millis) / 1000, dt.UTC)
    except (TypeError, ValueError):
        return None


def receive_messages(
    client: Any, queue: QueueRef, url: str, max_messages: int, visibility_timeout: int | None = None
) -> list[QueueMessage]:
    """Up to `max_messages`, 10 per call, until the queue answers with none (no long polling: a sensor tick
    must return). Each stays invisible to other receivers for `visibility_timeout` seconds (None: the queue's
    own setting)."""
    out: list[QueueMessage] = []
    while len(out) < max_messages:
        args: dict[str, Any] = {"VisibilityTimeout": visibility_timeout} if visibility_timeout is not None else {}
        try:
            answer = client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(RECEIVE_LIMIT, max_messages - len(out)),
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
                **args,
            )
        except _AWS_ERRORS as exc:
            raise _queue_error(queue, exc) from None
        messages = answer.get("Messages") or []
        seen = {m.message_id for m in out}
        fresh = [m for m in messages if m["MessageId"] not in seen]
        for m in fresh:
            count = (m.get("Attributes") or {}).get("ApproximateReceiveCount") or 1
            out.append(QueueMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body") or "", _sent_at(m), int(count)))
        # Stop when the queue is empty, or when messages come round again (their visibility timeout is shorter
        # than this loop): each message is returned once per call.
        if not messages or len(fresh) < len(messages):
            break
    return out


def delete_messages(client: Any, queue: QueueRef, url: str, receipt_handles: list[str]) -> list[str]:
    """DeleteMessageBatch in tens (never an empty batch: AWS rejects it); returns "code: message" per message
    SQS refused to delete (e.g. its receipt handle expired with the visibility timeout: it comes back later)."""
    failures: list[str] = []
    for start in range(0, len(receipt_handles), RECEIVE_LIMIT):
        chunk = receipt_handles[start : start + RECEIVE_LIMIT]
        try:
            answer = client.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
            )
        except _AWS_ERRORS as exc:
            raise _queue_error(queue, exc) from None
        failures += [f"{f.get('Code')}: {f.get('Message', '')}".strip() for f in answer.get("Failed") or []]
    return failures
