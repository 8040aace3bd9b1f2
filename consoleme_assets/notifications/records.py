"""`consoleme_notifications` items -> ALL_NOTIFICATIONS `{user_or_group: [notification, ...]}` (spec §5.23).
Pure functions.

A notification is written in ConsoleMe's ConsoleMeUserNotification shape (its field order, defaults for the
optional fields). An item missing a required field is reported and left out; ConsoleMe's model raised and
the whole refresh stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REQUIRED = ("predictable_id", "type", "users_or_groups", "event_time", "expiration", "message")
# Field order and defaults of ConsoleMe's model for the fields an item may lack.
FIELDS: tuple[tuple[str, Any], ...] = (
    ("predictable_id", None),
    ("type", None),
    ("users_or_groups", None),
    ("event_time", None),
    ("expiration", None),
    ("expired", False),
    ("header", None),
    ("message", None),
    ("message_actions", []),
    ("details", {}),
    ("read_by_users", []),
    ("read_by_all", False),
    ("hidden_for_users", []),
    ("hidden_for_all", False),
    ("read_for_current_user", False),
    ("version", 1),
)


class NotificationError(ValueError):
    pass


def _whole(value: Any, name: str, predictable_id: Any) -> int:
    if isinstance(value, bool):
        raise NotificationError(f"notification {predictable_id}: {name} {value!r} is not an epoch number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotificationError(f"notification {predictable_id}: {name} {value!r} is not an epoch number") from None


def notification(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item in ConsoleMe's notification shape, or NotificationError naming the item and field."""
    pid = item.get("predictable_id")
    missing = [name for name in REQUIRED if item.get(name) in (None, "")]
    if missing:
        raise NotificationError(f"notification {pid or '<no predictable_id>'}: missing {', '.join(missing)}")
    out = {name: item.get(name, default) for name, default in FIELDS}
    targets = item["users_or_groups"]
    if isinstance(targets, str) or not isinstance(targets, Iterable):
        raise NotificationError(f"notification {pid}: users_or_groups is not a list or set")
    out["users_or_groups"] = sorted(str(t) for t in targets)  # a set in ConsoleMe's model
    out["event_time"] = _whole(item["event_time"], "event_time", pid)
    out["expiration"] = _whole(item["expiration"], "expiration", pid)
    for name in ("message_actions", "read_by_users", "hidden_for_users"):
        out[name] = list(out[name] or [])
    out["details"] = dict(out["details"] or {})
    return out


@dataclass
class Grouped:
    by_user_or_group: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    newly_expired: list[dict[str, Any]] = field(default_factory=list)  # to write back with expired=true
    problems: list[str] = field(default_factory=list)
    notifications: int = 0


def group_notifications(items: Iterable[Mapping[str, Any]], now: float) -> Grouped:
    """Mark notifications past `expiration` as expired and file each under every one of its users/groups
    (ordered by predictable_id, for stable output)."""
    out = Grouped()
    for item in items:
        try:
            note = notification(item)
        except NotificationError as exc:
            out.problems.append(str(exc))
            continue
        out.notifications += 1
        if now > note["expiration"] and not note["expired"]:
            note["expired"] = True
            out.newly_expired.append({**item, "expired": True})
        for target in note["users_or_groups"]:
            out.by_user_or_group.setdefault(target, []).append(note)
    for notes in out.by_user_or_group.values():
        notes.sort(key=lambda n: n["predictable_id"])
    out.by_user_or_group = dict(sorted(out.by_user_or_group.items()))
    return out
