"""CloudTrail error events (EventBridge, optionally inside an SNS envelope) -> `consoleme_cloudtrail` items
(spec §5.21). Pure functions: no AWS, no clock of their own.

ConsoleMe left the messages it skipped in the queue, to come back every visibility timeout until SQS dropped
them; here a message that cannot become an item is a `Rejection` with a reason, logged and deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_EVENT_AGE_SECONDS = 86400  # ConsoleMe ignores events older than a day
GENERATED_POLICY_ERRORS = ("AccessDenied", "UnauthorizedOperation")
_RESOURCE_IN_MESSAGE = re.compile(r"^.* on resource: (arn:aws:.*?$)")


@dataclass(frozen=True)
class Rejection:
    """Why a message produced no item. `reason` is a short stable name (metadata counts by it)."""

    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def event_detail(body: str) -> dict[str, Any] | Rejection:
    """The CloudTrail record (`detail`) of a message body: an EventBridge event, or one inside SNS `Message`."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError):
        return Rejection("not_json", "message body is not JSON")
    if isinstance(event, dict) and "Message" in event:
        try:
            event = json.loads(event["Message"])
        except (TypeError, ValueError):
            return Rejection("not_json", "SNS envelope's Message is not JSON")
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        return Rejection("no_detail", "event has no 'detail' object")
    return detail


def epoch_of(event_time: Any) -> int | None:
    """CloudTrail's `eventTime` (`2026-12-04T15:00:00Z`) as epoch seconds, read as UTC whatever the host's zone."""
    if not isinstance(event_time, str):
        return None
    try:
        parsed = dt.datetime.strptime(event_time, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return int(parsed.replace(tzinfo=dt.UTC).timestamp())


def resource_of(detail: Mapping[str, Any]) -> str:
    """The longest `resources[].ARN`, else the ARN after "on resource: " in `errorMessage`, else "*"."""
    arns = [r.get("ARN") for r in detail.get("resources") or [] if isinstance(r, dict)]
    arns = [a for a in arns if isinstance(a, str) and a]
    if arns:
        return max(arns, key=len)
    message = detail.get("errorMessage")
    if isinstance(message, str) and "on resource: arn:aws" in message:
        match = _RESOURCE_IN_MESSAGE.match(message)
        if match:
            return match.group(1)
    return "*"


def generated_policy(error_code: Any, event_call: str, resource: str) -> dict[str, Any] | None:
    """ConsoleMe's naive policy granting exactly the denied call, for AccessDenied / UnauthorizedOperation."""
    if error_code not in GENERATED_POLICY_ERRORS:
        return None
    return {
        "Statement": [{"Action": [event_call], "Effect": "Allow", "Resource": [resource]}],
        "Version": "2012-10-17",
    }


def deny_item(
    detail: Mapping[str, Any], now: float, event_ttl: int, substitutions: Iterable[str]
) -> dict[str, Any] | Rejection:
    """One `consoleme_cloudtrail` item (count 1) for a CloudTrail record, or why there is none."""
    epoch = epoch_of(detail.get("eventTime"))
    if epoch is None:
        return Rejection("bad_event_time", f"eventTime {detail.get('eventTime')!r} is not YYYY-MM-DDTHH:MM:SSZ")
    if now - MAX_EVENT_AGE_SECONDS > epoch:
        return Rejection("too_old", f"eventTime {detail.get('eventTime')} is more than 24 h old")
    identity = detail.get("userIdentity") if isinstance(detail.get("userIdentity"), dict) else {}
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    principal_arn = issuer.get("arn") if isinstance(issuer, dict) else None
    if not isinstance(principal_arn, str) or not principal_arn.startswith("arn:"):
        return Rejection("no_principal", "no userIdentity.sessionContext.sessionIssuer.arn (not an assumed role)")
    identity_arn = identity.get("arn")
    session_name = identity_arn.split("/")[-1] if isinstance(identity_arn, str) and "/" in identity_arn else ""
    event_source = str(detail.get("eventSource") or "")
    for substitution in substitutions:
        event_source = event_source.replace(substitution, "")
    event_call = f"{event_source}:{detail.get('eventName')}"
    resource = resource_of(detail)
    item: dict[str, Any] = {
        "error_code": detail.get("errorCode"),
        "error_message": detail.get("errorMessage"),
        "arn": principal_arn,
        "session_name": session_name,
        "source_ip": detail.get("sourceIPAddress"),
        "event_call": event_call,
        "epoch_event_time": epoch,
        "ttl": epoch + event_ttl,
        "count": 1,
        "resource": resource,
        "request_id": f"{principal_arn}-{session_name}-{event_call}-{resource}",
    }
    policy = generated_policy(item["error_code"], event_call, resource)
    if policy:
        item["generated_policy"] = policy
    return item


@dataclass
class Merged:
    items: list[dict[str, Any]]  # what to write: one per request_id, count accumulated
    new_request_ids: list[str]  # request ids the table did not have


def merge_denies(new_items: Iterable[dict[str, Any]], existing: Mapping[str, Mapping[str, Any]]) -> Merged:
    """Fold events into items per `request_id`: the latest event's fields, `count` = the stored count (1 when
    absent, as ConsoleMe) + one per event."""
    by_id: dict[str, dict[str, Any]] = {}
    new_ids: list[str] = []
    for item in new_items:
        request_id = item["request_id"]
        before = by_id.get(request_id) or existing.get(request_id)
        if before is None:
            new_ids.append(request_id)
            by_id[request_id] = dict(item)
            continue
        count = _count(before.get("count")) + item.get("count", 1)
        latest = item if item["epoch_event_time"] >= _count(before.get("epoch_event_time"), 0) else before
        by_id[request_id] = {**latest, "count": count}
    return Merged(list(by_id.values()), new_ids)


def _count(value: Any, default: int = 1) -> int:
    if isinstance(value, bool) or value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
