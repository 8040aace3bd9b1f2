"""`consoleme-assets history ARN [--since ...] [--json]` in process, over records appended through the store
(real Redis and the moto server): what a person reads, and bad input named with exit 2."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from consoleme_assets.cli.main import main
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.stores.field_diff import field_diff
from consoleme_assets.stores.history_store import ChangeHistory

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"


def stamp(hours_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - hours_ago * 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def role(*statements: dict, tags: dict | None = None) -> dict:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return {
        "arn": ROLE,
        "name": "app",
        "policy": json.dumps({"RolePolicyList": [{"PolicyName": "s3", "PolicyDocument": doc}], "Tags": tags or []}),
    }


READ = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::data/*"}
READ_WRITE = {**READ, "Action": ["s3:GetObject", "s3:PutObject"]}
LIST = {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data"}


def change(rid: str, hours_ago: float, kind: str, old: dict | None, new: dict | None, cause: dict) -> dict:
    return {
        "id": rid,
        "time": stamp(hours_ago),
        "dataset": "iam_resources",
        "account": ACCOUNT,
        "arn": ROLE,
        "kind": "role",
        "change": kind,
        "fields": ["policy"] if kind == "changed" else [],
        "diff": field_diff(old, new),
        "cause": cause,
        "old_hash": None if old is None else f"h-{rid}-old",
        "new_hash": None if new is None else f"h-{rid}-new",
    }


@pytest.fixture
def timeline(sandbox_env, redis_client):
    """Three changes of one role, 50 h, 30 h and 1 h ago: added on schedule, a statement's Action widened by a
    role-change event, a statement added by the UI; the first two in S3 (flushed), the last in Redis only."""
    v1, v2, v3 = role(READ), role(READ_WRITE), role(READ_WRITE, LIST)
    records = [
        change("r1", 50, "added", None, v1, {"type": "schedule", "run_id": "run-a", "schedule": "every_45_min"}),
        change(
            "r2",
            30,
            "changed",
            v1,
            v2,
            {
                "type": "role_change",
                "run_id": "run-b",
                "event_id": "evt-42",
                "event_time": stamp(30.01),
                "actor": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            },
        ),
        change("r3", 1, "changed", v2, v3, {"type": "ui", "run_id": "run-c"}),
    ]
    caches = ConsoleMeResource().caches()
    history = ChangeHistory(caches)
    history.append(records[:2])
    history.flush("run-b")
    history.append(records[2:])
    caches.close()
    return records


def test_history_prints_each_change_with_its_cause_and_diff(timeline, capsys):
    assert main(["history", ROLE]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{ROLE}: 3 changes in the retention (400 days), oldest first\n")
    entries = out.split("\n\n")[1:]
    assert [e.splitlines()[0] for e in entries] == [
        f"{timeline[0]['time']}  added  iam_resources  role  account {ACCOUNT}",
        f"{timeline[1]['time']}  changed [policy]  iam_resources  role  account {ACCOUNT}",
        f"{timeline[2]['time']}  changed [policy]  iam_resources  role  account {ACCOUNT}",
    ]
    added, widened, listed = (e.splitlines()[1:] for e in entries)
    assert added[0] == "    cause: schedule every_45_min, run run-a"
    assert "    + arn: " + json.dumps(ROLE) in added
    assert added[-1] == "    + policy: " + json.dumps(json.loads(role(READ)["policy"]))  # the whole new value
    assert widened == [
        f"    cause: role_change event evt-42 at {timeline[1]['cause']['event_time']} "
        "by arn:aws:sts::111122223333:assumed-role/Admin/alice, run run-b",
        "    ~ policy.RolePolicyList[s3].PolicyDocument.Statement[Read]: Action +s3:PutObject",
    ]
    assert listed == [
        "    cause: ui, run run-c",
        "    + policy.RolePolicyList[s3].PolicyDocument.Statement[List]: " + json.dumps(LIST),
    ]


def test_since_and_json(timeline, capsys):
    assert main(["history", ROLE, "--since", "36h"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{ROLE}: 2 changes since ")
    assert "added" not in out and "evt-42" in out
    assert main(["history", ROLE, "--since", "2h", "--json"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == timeline[2:]
    assert main(["history", ROLE, "--since", timeline[2]["time"][:10]]) == 0  # a date: from its midnight (UTC)
    assert "run-c" in capsys.readouterr().out


def test_no_records_is_said_and_is_not_an_error(sandbox_env, redis_client, capsys):
    other = f"arn:aws:iam::{ACCOUNT}:role/quiet"
    assert main(["history", other, "--since", "7d"]) == 0
    assert capsys.readouterr().out.startswith(f"{other}: no change records since ")
    assert main(["history", "my-data-bucket"]) == 0  # a bucket is recorded by its name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "yesterday"],
            "--since: expected a duration such as 7d, 36h or 30m, or a date such as 2026-12-01, got 'yesterday'",
        ),
        (["--since", "0d"], "--since: expected a duration"),
        (["--since", "12"], "--since: expected a duration"),
    ],
)
def test_bad_since_exits_2_naming_it(sandbox_env, redis_client, capsys, args, message):
    assert main(["history", ROLE, *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_arn_exits_2_naming_it(sandbox_env, capsys):
    assert main(["history", "role/app"]) == 2
    assert "history: 'role/app' is neither an ARN (arn:partition:service:region:account:resource, the account" in (
        capsys.readouterr().err
    )


def test_an_unreadable_object_fails_naming_it(sandbox_env, redis_client, demo_org, capsys):
    import boto3

    key = f"consoleme_assets/history/{stamp(0)[:10]}/iam_resources/x-0.jsonl.gz"
    boto3.client("s3").put_object(Bucket=demo_org.cache_bucket, Key=key, Body=b"not gzip")
    assert main(["history", ROLE]) == 1
    assert f"error: s3://{demo_org.cache_bucket}/{key}: not a readable gzip object" in capsys.readouterr().err
