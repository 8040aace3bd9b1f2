"""From role-change queue messages to the roles to refresh (spec §5.19). Pure functions: no AWS, no Dagster.

A message body is either an SNS notification whose `Message` is the EventBridge event, or the EventBridge
event itself. The role is `arn:aws:iam::<account>:role/<detail.requestParameters.roleName>` (the path is not
in the event; the refresh writes the role under the ARN IAM returns, path included).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
ACCOUNT_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class RoleChange:
    """One message that names a role: the role's ARN (path-less) and when the change happened."""

    message_id: str
    role_arn: str
    account_id: str
    event_time: dt.datetime | None
    event_id: str | None = None  # CloudTrail's eventID, for the change history
    actor: str | None = None  # who made the change: CloudTrail's userIdentity ARN


@dataclass(frozen=True)
class Rejected:
    """A message that names no role we can refresh, and why."""

    message_id: str
    reason: str


def _loads_object(text: Any, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a string but {type(text).__name__}")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is a JSON {type(value).__name__}, not an object")
    return value


def parse_time(value: Any) -> dt.datetime | None:
    """EventBridge/CloudTrail/SNS times ("2026-12-04T15:00:00Z", with or without fractions), in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def unwrap_event(body: str) -> dict[str, Any]:
    """The EventBridge event in a message body (SNS envelope or raw); ValueError naming what is wrong."""
    outer = _loads_object(body, "body")
    if "detail" not in outer and "Message" in outer:  # SNS notification (raw delivery off)
        event = _loads_object(outer["Message"], "SNS Message")
        if "time" not in event and "Timestamp" in outer:
            event = {**event, "time": outer["Timestamp"]}
        return event
    return outer


def parse_role_change(
    message_id: str, body: str, partition: str = "aws", sent_at: dt.datetime | None = None
) -> RoleChange | Rejected:
    """The role a message names, or why it names none. `sent_at` (SQS SentTimestamp) is the event time of
    last resort, when neither the event's `time` nor `detail.eventTime` is readable."""
    try:
        event = unwrap_event(body)
    except ValueError as exc:
        return Rejected(message_id, str(exc))
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Rejected(
            message_id,
            "event has no detail object" if detail is None else f"detail is a {type(detail).__name__}, not an object",
        )
    account = detail.get("account") or detail.get("recipientAccountId") or event.get("account")
    if isinstance(account, int):
        account = f"{account:012d}"
    if not isinstance(account, str) or not ACCOUNT_RE.match(account):
        return Rejected(message_id, f"detail.account / detail.recipientAccountId is not an account id: {account!r}")
    params = detail.get("requestParameters")
    role_name = params.get("roleName") if isinstance(params, dict) else None
    if not isinstance(role_name, str) or not ROLE_NAME_RE.match(role_name):
        return Rejected(
            message_id,
            f"account {account}: detail.requestParameters.roleName is not a role name: "
            f"{str(role_name)[:80]!r} (event {detail.get('eventName', '?')})",
        )
    when = parse_time(event.get("time")) or parse_time(detail.get("eventTime")) or sent_at
    identity = detail.get("userIdentity")
    actor = identity.get("arn") if isinstance(identity, dict) else None
    event_id = detail.get("eventID")
    return RoleChange(
        message_id,
        f"arn:{partition}:iam::{account}:role/{role_name}",
        account,
        when,
        event_id if isinstance(event_id, str) else None,
        actor if isinstance(actor, str) else None,
    )


@dataclass
class ChangedRole:
    """All messages of one batch that name the same role: refreshed once, acknowledged together."""

    role_arn: str
    account_id: str
    first_event_time: dt.datetime | None = None
    message_ids: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)

    def add(self, change: RoleChange) -> None:
        self.message_ids.append(change.message_id)
        if change.event_id and change.event_id not in self.event_ids:
            self.event_ids.append(change.event_id)
        if change.actor and change.actor not in self.actors:
            self.actors.append(change.actor)
        when = change.event_time
        if when is not None and (self.first_event_time is None or when < self.first_event_time):
            self.first_event_time = when


def coalesce(changes: list[RoleChange]) -> dict[str, ChangedRole]:
    """Role ARN -> its messages, in first-seen order; the lag is measured from the earliest event."""
    out: dict[str, ChangedRole] = {}
    for change in changes:
        out.setdefault(change.role_arn, ChangedRole(change.role_arn, change.account_id)).add(change)
    return out


def lag_seconds(event_time: dt.datetime | None, written_at: dt.datetime) -> float | None:
    return None if event_time is None else round((written_at - event_time).total_seconds(), 3)


def lag_summary(lags: list[float]) -> dict[str, float | int]:
    """Count, max and median of the roles' lags (seconds from event to cache write)."""
    if not lags:
        return {"roles_with_event_time": 0}
    return {
        "roles_with_event_time": len(lags),
        "max_lag_seconds": max(lags),
        "median_lag_seconds": round(statistics.median(lags), 3),
    }
