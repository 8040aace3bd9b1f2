"""`consoleme-assets history ARN [--since 7d|36h|2026-12-01] [--json]`: one item's change timeline, oldest first,
each change with its cause and its field-level diff (issue 22). Reads the Redis window and the S3 day folders
through stores.history_store; `--json` prints the records themselves, one per line."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..aws.sessions import AwsSessions
from ..lib.resources import RedisUnreachable, check_redis, load_deployment_settings
from ..settings.changes import duration_seconds
from ..stores.connect import open_caches
from ..stores.history_store import ChangeHistory, HistoryReadError, record_epoch

# arn:partition:service:region:account:resource (region and account may be empty: IAM, S3), or a bucket name:
# the S3 buckets dataset records each bucket by its name.
_ARN = re.compile(r"^arn:[a-z][a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:\S+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_VALUE_CHARS = 300
_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def check_arn(value: str) -> str:
    if _ARN.match(value) or _BUCKET.match(value):
        return value
    raise ValueError(
        f"history: {value!r} is neither an ARN (arn:partition:service:region:account:resource, the account "
        "12 digits or empty) nor an S3 bucket name"
    )


def parse_since(value: str | None, now: float) -> float | None:
    """--since: a duration back from `now` (7d, 36h, 30m) or a date/time (2026-12-01, 2026-12-01T08:00:00Z)."""
    if value is None:
        return None
    try:
        return now - duration_seconds(value, "--since")
    except ValueError:
        pass
    try:
        return record_epoch(value.strip())
    except ValueError:
        raise ValueError(
            f"--since: expected a duration such as 7d, 36h or 30m, or a date such as 2026-12-01, got {value!r}"
        ) from None


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else f"{text[:MAX_VALUE_CHARS]}... ({len(text)} chars)"


def _sub_fields(fields: dict[str, dict]) -> str:
    """A statement's changed fields: `Action +s3:PutObject -s3:GetObject; Effect "Allow" -> "Deny"`."""
    parts = []
    for name, change in fields.items():
        if "added" in change or "removed" in change:  # a set: Action, Resource, Principal.AWS, Condition...
            items = [f"+{v}" for v in change.get("added", [])] + [f"-{v}" for v in change.get("removed", [])]
            parts.append(f"{name} {' '.join(items)}")
        else:
            old = _value(change["old"]) if "old" in change else "(none)"
            new = _value(change["new"]) if "new" in change else "(none)"
            parts.append(f"{name} {old} -> {new}")
    return "; ".join(parts)


def diff_line(entry: dict) -> str:
    """One field_diff entry: `+ path: new`, `- path: old`, `~ path: old -> new` or `~ path: Action +s3:X`."""
    op, path = entry.get("op"), entry.get("path") or ""
    if op == "truncated":
        return f"... {entry.get('count', '?')} more diff entries not kept in the record"
    if op == "added":
        body = _value(entry.get("new"))
    elif op == "removed":
        body = _value(entry.get("old"))
    elif entry.get("fields"):
        body = _sub_fields(entry["fields"])
    else:
        body = f"{_value(entry.get('old'))} -> {_value(entry.get('new'))}"
    return f"{_SIGN.get(op, '?')} {path}: {body}" if path else f"{_SIGN.get(op, '?')} {body}"


def cause_text(cause: Any) -> str:
    """`role_change event e-1 at 2026-12-07T13:39:12Z by arn:...:assumed-role/Admin/alice, run 8c2f...`."""
    if not isinstance(cause, dict):
        return "unknown"
    parts = [str(cause.get("type") or "unknown")]
    for key in ("schedule", "sensor"):
        if cause.get(key):
            parts.append(str(cause[key]))
    if cause.get("event_id"):
        parts.append(f"event {cause['event_id']}")
    if cause.get("event_time"):
        parts.append(f"at {cause['event_time']}")
    if cause.get("actor"):
        parts.append(f"by {cause['actor']}")
    text = " ".join(parts)
    return f"{text}, run {cause['run_id']}" if cause.get("run_id") else text


def timeline_entry(record: dict) -> list[str]:
    change = record.get("change", "?")
    if record.get("fields"):
        change = f"{change} [{', '.join(map(str, record['fields']))}]"
    head = [record.get("time", "?"), change, record.get("dataset", "?"), record.get("kind", "?")]
    if record.get("account"):
        head.append(f"account {record['account']}")
    lines = ["  ".join(map(str, head)), f"    cause: {cause_text(record.get('cause'))}"]
    return lines + [f"    {diff_line(e)}" for e in record.get("diff") or [] if isinstance(e, dict)]


def history(arn: str, since: str | None, as_json: bool = False, out: Callable[[str], None] = print) -> int:
    try:
        check_arn(arn)
        since_epoch = parse_since(since, time.time())
        settings = load_deployment_settings()
        check_redis(settings.effective_redis_url)
    except (ValueError, RedisUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    caches = open_caches(settings, AwsSessions(settings))
    try:
        records = ChangeHistory(caches).read(arn, since_epoch)
    except HistoryReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        caches.close()
    if as_json:
        for record in records:
            out(json.dumps(record, sort_keys=True, default=str))
        return 0
    days = settings.history.retention_seconds / 86400
    window = f"since {iso(since_epoch)}" if since_epoch is not None else f"in the retention ({days:g} days)"
    if not records:
        out(f"{arn}: no change records {window}")
        return 0
    out(f"{arn}: {len(records)} change{'s' if len(records) != 1 else ''} {window}, oldest first")
    for record in records:
        out("")
        for line in timeline_entry(record):
            out(line)
    return 0
