"""`consoleme_cloudtrail` items -> `cloudtrail_generated_policy` notifications for `consoleme_notifications`
(ConsoleMe's cache_cloudtrail_errors_by_arn / `CloudTrail.process_cloudtrail_errors`, spec §5.22). Pure functions:
no AWS, no Redis, no clock of their own; owners come from a lookup the caller builds from the IAM caches.

Items have ConsoleMe's ConsoleMeUserNotification shape and field order (`.dict()` as ConsoleMe wrote it), its
predictable id and its self-service link; the default message text is ours, with ConsoleMe's link and meaning.
Behaviour fixed (the formats are unchanged):
- a row that cannot become a notification is skipped and reported (ConsoleMe's task stopped on the first one,
  e.g. a row without `generated_policy`), and rows past their `ttl` are left out (ConsoleMe used them);
- `expiration` is the latest error's time + `notification_ttl`, so a notification goes away that long after the
  last similar error, as its message says (ConsoleMe set now + ttl on every hourly run while the error rows
  lived, about twice as long), and an unchanged notification is not rewritten every run;
- rows sharing a predictable id notify every session user among them (ConsoleMe kept the last row's);
- `additional_notify_users` is added to every notification (ConsoleMe skipped it when the session was an instance);
- owners come from the IAM caches for users too (ConsoleMe's per-error lookup never found a user's owner);
- a `+` of the base64 request is sent as `%2B`: the self-service page's query parser reads `+` as a space, which
  broke the request (`/`, `=` are left as ConsoleMe wrote them; they survive the parser).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Real
from typing import Any

from ..settings.cloudtrail_notifications import CloudTrailNotificationSettings
from .records import is_expired

NOTIFICATION_TYPE = "cloudtrail_generated_policy"
ACTION_TEXT = "Review and Submit Request"  # the button label ConsoleMe's UI shows
MODEL_VERSION = 1  # ConsoleMeUserNotification.version; the web tier skips other versions
PRINCIPAL_TYPES = ("role", "user")
# Written by the notification's users (read / hidden marks), never by this task: kept from the stored item.
USER_STATE = ("read_by_users", "read_by_all", "hidden_for_users", "hidden_for_all", "header", "read_for_current_user")
SIMULATION = "iam_policy_simulation"

OwnerLookup = Mapping[str, Any] | Callable[[str], Any]
# (principal arn, event_call, resource, source_ip) -> IAM simulator results; the caller's, only for new items.
Simulator = Callable[[str, str, str, Any], Any]

DEFAULT_MESSAGE = (
    "**[{arn}]({url_role_path})** was recently refused a permission, and a policy that would allow it has been "
    "drafted. Use the button below to review it and send it as a request.\n\n"
    "You get this notification because your team owns this principal, or because you were using it when the error "
    "happened. It goes away after {duration} without a similar error."
)


@dataclass(frozen=True)
class SkippedRow:
    """A row left out: which row (its request_id, else its position), which field, and why."""

    row: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"CloudTrail error item {self.row}: {self.field}: {self.reason}"


@dataclass
class Generated:
    """Notifications by predictable id. `untargeted` ones have nobody to notify (no owner, no session user): they
    only refresh a stored notification, as in ConsoleMe, and are never created."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    untargeted: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[SkippedRow] = field(default_factory=list)  # bad rows
    expired_rows: int = 0
    rows_without_policy: int = 0  # error codes ConsoleMe generates no policy for


def principal_arns(rows: Iterable[Any]) -> list[str]:
    """The principals of the rows, for the caller to read only those entries of IAM_ROLE_CACHE / IAM_USER_CACHE."""
    return sorted({r["arn"] for r in rows if isinstance(r, Mapping) and isinstance(r.get("arn"), str)})


def owners_from_cache_entries(entries: Mapping[str, Any]) -> dict[str, str | None]:
    """`{arn: owner}` from IAM cache entries (`{arn: entry}`, the entry decoded or its JSON string)."""
    owners: dict[str, str | None] = {}
    for arn, entry in entries.items():
        if isinstance(entry, str):
            try:
                entry = json.loads(entry)
            except ValueError:
                continue
        owner = entry.get("owner") if isinstance(entry, Mapping) else None
        owners[arn] = owner if isinstance(owner, str) else None
    return owners


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        return None
    try:
        whole = int(value)
    except (ValueError, OverflowError, ArithmeticError):
        return None
    return whole if whole == value else None


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and (unit != "day" or seconds // size > 1):  # "24 hours" reads better than "1 day"
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


def message_for(arn: str, url_role_path: str, settings: CloudTrailNotificationSettings) -> str:
    template = settings.message if settings.message is not None else DEFAULT_MESSAGE
    # Plain replacement, not str.format: a configured message may hold other braces.
    for name, value in (("arn", arn), ("url_role_path", url_role_path)):
        template = template.replace("{" + name + "}", value)
    return template.replace("{duration}", _duration(settings.notification_ttl))


def self_service_uri(arn: str, account_id: str, principal_name: str, policy: Mapping[str, Any]) -> str:
    """The self-service page opened on step 3 with the generated policy, as ConsoleMe encoded it (the request's
    field order is ConsoleMe's; the policy's keys are sorted so the link is the same however DynamoDB ordered
    them; ConsoleMe's own policies are already in that order)."""
    request = {
        "role": {
            "name": principal_name,
            "account_id": account_id,
            "account_name": "",
            "arn": arn,
            "cloudtrail_details": {"error_url": "", "errors": {"cloudtrail_errors": []}},
            "s3_details": {"error_url": "", "errors": {"s3_errors": []}},
            "apps": {"app_details": []},
            "tags": [],
            "templated": False,
            "principal": {"principal_type": "AwsResource", "principal_arn": arn},
        },
        "updated_policy": json.dumps(policy, sort_keys=True),
    }
    encoded = base64.b64encode(json.dumps(request).encode()).decode()
    return "/selfservice?encoded_request=" + encoded.replace("+", "%2B")


def _check_row(row: Any, index: int, owner_of: Callable[[str], Any]) -> SkippedRow | dict[str, Any]:
    """The parts of a row a notification needs, or why it is bad."""
    if not isinstance(row, Mapping):
        return SkippedRow(f"#{index}", "row", f"is a {type(row).__name__}, not a mapping")
    name = str(row.get("request_id") or f"#{index}")
    arn = row.get("arn")
    parts = arn.split(":") if isinstance(arn, str) else []
    kind = parts[5].split("/")[0] if len(parts) == 6 else ""
    if len(parts) != 6 or parts[2] != "iam" or len(parts[4]) != 12 or not parts[4].isdigit():
        return SkippedRow(name, "arn", f"{arn!r} is not an IAM principal ARN")
    if kind not in PRINCIPAL_TYPES or "/" not in parts[5]:
        return SkippedRow(name, "arn", f"{arn!r} is not an IAM role or user")
    event_call = row.get("event_call")
    if not isinstance(event_call, str) or not event_call:
        return SkippedRow(name, "event_call", f"{event_call!r} is not a service:Action name")
    resource = row.get("resource", "")  # ConsoleMe's default when absent
    session = row.get("session_name")
    session = "" if session is None else session  # IAM users have none
    for key, value in (("resource", resource), ("session_name", session)):
        if not isinstance(value, str):
            return SkippedRow(name, key, f"{value!r} is not a string")
    event_time = _whole(row.get("epoch_event_time"))
    if event_time is None:
        return SkippedRow(name, "epoch_event_time", f"{row.get('epoch_event_time')!r} is not epoch seconds")
    policy = row.get("generated_policy")
    if policy is not None and not isinstance(policy, Mapping):
        return SkippedRow(name, "generated_policy", f"is a {type(policy).__name__}, not a policy document")
    owner = owner_of(arn)
    if owner is not None and not isinstance(owner, str):
        return SkippedRow(name, "owner", f"the IAM cache's owner of {arn} is {owner!r}, not a string")
    return {
        "row_name": name,
        "arn": arn,
        "account_id": parts[4],
        "principal_type": "iam" + kind,  # iamrole / iamuser: the policy editor's path segment
        "principal_name": arn.split("/")[-1],  # the name without its path, as ConsoleMe
        "event_call": event_call,
        "resource": resource,
        "session_name": session,
        "event_time": event_time,
        "policy": policy,
        "owner": owner,
    }


def predictable_id(owner: str | None, principal_name: str, event_call: str, resource: str) -> str:
    """ConsoleMe's id. Only the resource's last `:` part counts, so one denied AssumeRole of a role named alike in
    many accounts is one notification; a missing owner is the text "None" (ConsoleMe formatted Python's None)."""
    return f"{NOTIFICATION_TYPE}-{owner}-{principal_name}-{event_call}-{resource.split(':')[-1]}"


def generate_notifications(
    rows: Iterable[Any], owner_of: OwnerLookup, settings: CloudTrailNotificationSettings, now: float
) -> Generated:
    """One notification per predictable id from the CloudTrail error rows (as decoded from `consoleme_cloudtrail`).
    The row with the latest event (then the greatest request_id) gives the message, link, details and times."""
    lookup: Callable[[str], Any] = owner_of.get if isinstance(owner_of, Mapping) else owner_of
    out = Generated()
    latest: dict[str, tuple[int, str]] = {}
    targets: dict[str, set[str]] = {}
    for index, row in enumerate(rows):
        if isinstance(row, Mapping) and is_expired(row, now):
            out.expired_rows += 1
            continue
        checked = _check_row(row, index, lookup)
        if isinstance(checked, SkippedRow):
            out.skipped.append(checked)
            continue
        if checked["policy"] is None:
            out.rows_without_policy += 1
            continue
        expiration = checked["event_time"] + settings.notification_ttl
        if expiration <= now:  # notification_ttl shorter than the row's own ttl: nothing left to show
            out.expired_rows += 1
            continue
        pid = predictable_id(checked["owner"], checked["principal_name"], checked["event_call"], checked["resource"])
        row_targets = targets.setdefault(pid, set())
        if checked["owner"]:
            row_targets.add(checked["owner"])
        session = checked["session_name"]
        if session and not session.startswith("i-"):  # an EC2 instance id is nobody to notify
            row_targets.add(session)
        rank = (checked["event_time"], checked["row_name"])
        if pid in latest and latest[pid] >= rank:
            continue
        try:
            item = _item(pid, checked, row, expiration, settings)
        except (TypeError, ValueError) as exc:  # e.g. a policy holding something JSON cannot encode
            out.skipped.append(SkippedRow(checked["row_name"], "generated_policy", f"cannot be encoded: {exc}"))
            continue
        latest[pid] = rank
        out.items[pid] = item
    for pid in list(out.items):
        if targets[pid]:
            out.items[pid]["users_or_groups"] = targets[pid] | set(settings.additional_notify_users)
        else:
            out.untargeted[pid] = out.items.pop(pid)
    return out


def _item(
    pid: str, c: dict[str, Any], row: Mapping[str, Any], expiration: int, settings: CloudTrailNotificationSettings
) -> dict[str, Any]:
    url_role_path = f"/policies/edit/{c['account_id']}/{c['principal_type']}/{c['principal_name']}"
    uri = self_service_uri(c["arn"], c["account_id"], c["principal_name"], c["policy"])
    # ConsoleMeUserNotification's fields in its order, as `.dict()` gave them to DynamoDB.
    return {
        "predictable_id": pid,
        "type": NOTIFICATION_TYPE,
        "users_or_groups": set(),  # a set, stored as a DynamoDB string set
        "event_time": c["event_time"],
        "expiration": expiration,
        "expired": False,
        "header": None,
        "message": message_for(c["arn"], url_role_path, settings),
        "message_actions": [{"http_method": "get", "uri": uri, "text": ACTION_TEXT}],
        "details": copy.deepcopy(dict(row)),  # the whole CloudTrail row, as ConsoleMe
        "read_by_users": [],
        "read_by_all": False,
        "hidden_for_users": [],
        "hidden_for_all": False,
        "read_for_current_user": None,
        "version": MODEL_VERSION,
    }


@dataclass
class Changes:
    """What to write to `consoleme_notifications`: `new` + `changed` (`to_write`); the rest is left alone."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    untargeted: list[str] = field(default_factory=list)  # new, but nobody to notify: not created
    problems: list[str] = field(default_factory=list)  # stored items that could not be read (replaced if new)

    @property
    def to_write(self) -> list[dict[str, Any]]:
        return self.new + self.changed


def _comparable(item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    out["users_or_groups"] = sorted(item.get("users_or_groups") or ())
    for key in ("event_time", "expiration", "version"):
        whole = _whole(item.get(key))
        out[key] = item.get(key) if whole is None else whole
    return out


def _stored(item: Any) -> tuple[str | None, str | None]:
    """(predictable_id, problem) of a stored item; only cloudtrail_generated_policy ones matter here."""
    if not isinstance(item, Mapping):
        return None, f"stored notification is a {type(item).__name__}, not a mapping"
    pid = item.get("predictable_id")
    if item.get("type") != NOTIFICATION_TYPE or not isinstance(pid, str):
        return None, None
    targets = item.get("users_or_groups")
    if isinstance(targets, str) or not isinstance(targets, Iterable) or not all(isinstance(t, str) for t in targets):
        return pid, f"stored notification {pid}: users_or_groups {targets!r} is not a set of names"
    for key in ("event_time", "expiration"):
        if _whole(item.get(key)) is None:
            return pid, f"stored notification {pid}: {key} {item.get(key)!r} is not epoch seconds"
    return pid, None


def notification_changes(generated: Generated, existing: Iterable[Any], simulate: Simulator | None = None) -> Changes:
    """Compare with the items already in `consoleme_notifications` (decoded). A stored notification keeps what its
    users did (read / hidden marks) and its users or groups, gains the new ones, and takes the newest event's
    time, expiration, message, link and details (keeping a simulation result made at creation). `simulate` is
    called for new notifications only (pass it when `simulate_iam_principal_action` is on)."""
    out = Changes()
    stored: dict[str, Mapping[str, Any]] = {}
    for item in existing:
        pid, problem = _stored(item)
        if problem:
            out.problems.append(problem + (" (replaced)" if pid in generated.items else ""))
        elif pid is not None:
            stored[pid] = item
    for pid, fresh in sorted({**generated.untargeted, **generated.items}.items()):
        before = stored.get(pid)
        if before is None:
            if pid in generated.untargeted:
                out.untargeted.append(pid)
                continue
            item = copy.deepcopy(fresh)
            if simulate is not None:
                d = item["details"]
                d[SIMULATION] = simulate(d["arn"], d["event_call"], d.get("resource", ""), d.get("source_ip"))
            out.new.append(item)
            continue
        merged = _merge(before, fresh)
        if _comparable(merged) == _comparable(before):
            out.unchanged.append(pid)
        else:
            out.changed.append(merged)
    return out


def _merge(before: Mapping[str, Any], fresh: Mapping[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(dict(fresh))
    # Attributes this task does not write (someone else's) are kept, so they do not make the item differ forever.
    item.update({k: copy.deepcopy(v) for k, v in before.items() if k not in item})
    for key in USER_STATE:
        if key in before:
            item[key] = copy.deepcopy(before[key])
    item["users_or_groups"] = set(before["users_or_groups"]) | set(fresh["users_or_groups"])
    # Never move backwards: the stored event is newer than every row still in the table (the newest row is gone).
    if _whole(before["event_time"]) > fresh["event_time"]:
        for key in ("event_time", "message", "message_actions", "details"):
            if key in before:
                item[key] = copy.deepcopy(before[key])
    # ConsoleMe's expirations (now + ttl on every run) may be later than ours: never shortened.
    stored_expiration = _whole(before["expiration"])
    item["expiration"] = max(stored_expiration, fresh["expiration"])
    item["expired"] = bool(before.get("expired")) if item["expiration"] == stored_expiration else False
    details = before.get("details")
    if isinstance(details, Mapping) and SIMULATION in details and isinstance(item["details"], dict):
        item["details"].setdefault(SIMULATION, copy.deepcopy(details[SIMULATION]))
    item["version"] = MODEL_VERSION
    return item
