"""An event queue (ConsoleMe's `event_bridge.*.queue_arn`): receive a bounded batch, delete what was handled."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .sessions import AwsSessions

_QUEUE_ARN_RE = re.compile(
    r"^arn:(?P<partition>[\w-]+):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[\w-]{1,80}(\.fifo)?)$"
)
RECEIVE_LIMIT = 10  # ReceiveMessage's and DeleteMessageBatch's maximum


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
    match = _QUEUE_ARN_RE.match(arn or "")
    if not match:
        raise ValueError(f"queue ARN {arn!r} is not arn:<partition>:sqs:<region>:<12-digit account>:<queue name>")
    return QueueRef(arn, match["partition"], match["region"], match["account"], match["name"])


def queue_client(sessions: AwsSessions, queue: QueueRef, assume_role: str | None) -> Any:
    """An SQS client in the queue's region: through `assume_role` (a role name in the queue's account) when set,
    else with our own credentials (as ConsoleMe: no spoke role for the queue)."""
    if assume_role:
        return sessions.client("sqs", account_id=queue.account_id, region=queue.region, role_name=assume_role)
    return sessions.client("sqs", region=queue.region)


def queue_url(client: Any, queue: QueueRef) -> str:
    return client.get_queue_url(QueueName=queue.name, QueueOwnerAWSAccountId=queue.account_id)["QueueUrl"]


def _sent_at(message: dict[str, Any]) -> dt.datetime | None:
    millis = (message.get("Attributes") or {}).get("SentTimestamp")
    try:
        return dt.datetime.fromtimestamp(int(millis) / 1000, dt.timezone.utc)
    except (TypeError, ValueError):
        return None


def receive_messages(client: Any, url: str, max_messages: int, visibility_timeout: int) -> list[QueueMessage]:
    """Up to `max_messages`, 10 per call, until the queue answers with none (no long polling: a sensor tick
    must return). Each stays invisible to other receivers for `visibility_timeout` seconds."""
    out: list[QueueMessage] = []
    while len(out) < max_messages:
        answer = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(RECEIVE_LIMIT, max_messages - len(out)),
            VisibilityTimeout=visibility_timeout, WaitTimeSeconds=0,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        messages = answer.get("Messages") or []
        if not messages:
            break
        for m in messages:
            count = (m.get("Attributes") or {}).get("ApproximateReceiveCount") or 1
            out.append(QueueMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body") or "", _sent_at(m), int(count)))
    return out


def delete_messages(client: Any, url: str, receipt_handles: list[str]) -> list[str]:
    """DeleteMessageBatch in tens (never an empty batch: AWS rejects it); returns "code: message" per failure
    (e.g. a receipt handle that expired because the visibility timeout passed)."""
    failures: list[str] = []
    for start in range(0, len(receipt_handles), RECEIVE_LIMIT):
        chunk = receipt_handles[start:start + RECEIVE_LIMIT]
        answer = client.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        )
        failures += [f"{f.get('Code')}: {f.get('Message', '')}".strip() for f in answer.get("Failed") or []]
    return failures
