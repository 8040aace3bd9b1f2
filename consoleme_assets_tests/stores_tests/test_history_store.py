"""ChangeHistory (issue 22) against redis-server and moto: the Redis window, the daily gzipped JSON Lines in the
cache bucket, the retention sweep, and errors that name what cannot be read."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime

import boto3
import pytest

from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.settings.changes import HistorySettings
from consoleme_assets.stores.caches import ConsoleMeCaches
from consoleme_assets.stores.field_diff import field_diff
from consoleme_assets.stores.history_store import ChangeHistory, HistoryReadError, HistoryWriteError
from consoleme_assets.stores.reports import WriteReport

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/other"
PREFIX = "consoleme_assets/history"
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC).timestamp()


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def policy(*actions: str) -> str:
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": list(actions)}]}
    return json.dumps({"RolePolicyList": [{"PolicyName": "s3", "PolicyDocument": doc}]})


def record(arn: str, time: str, change: str = "changed", dataset: str = "iam_resources", run_id: str = "r1") -> dict:
    old = None if change == "added" else {"arn": arn, "policy": policy("s3:GetObject")}
    new = None if change == "removed" else {"arn": arn, "policy": policy("s3:GetObject", "s3:PutObject")}
    new_hash = None if new is None else hashlib.sha256(json.dumps(new).encode()).hexdigest()
    return {
        "id": hashlib.sha1(f"{time}|{dataset}|{arn}|{change}|{new_hash}".encode()).hexdigest(),
        "time": time,
        "dataset": dataset,
        "account": ACCOUNT,
        "arn": arn,
        "kind": "role",
        "change": change,
        "fields": ["policy"] if change == "changed" else [],
        "diff": field_diff(old, new),
        "cause": {"type": "schedule", "run_id": run_id, "schedule": "iam_every_45_minutes"},
        "old_hash": None if old is None else "a" * 64,
        "new_hash": new_hash,
    }


@pytest.fixture
def caches(sandbox_env, redis_client):
    caches = ConsoleMeResource().caches()
    yield caches
    caches.close()


def history_with(caches: ConsoleMeCaches, **changes) -> ChangeHistory:
    """A ChangeHistory over the same Redis and S3 with some settings changed (`history=`, `consoleme_s3_bucket=`,
    `active_region=`)."""
    settings = caches.settings.model_copy(update=changes)
    return ChangeHistory(ConsoleMeCaches(settings, caches.redis, caches.s3), clock=lambda: NOW)


def history_keys(bucket: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=PREFIX + "/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def read_object(bucket: str, key: str) -> list[dict]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]


def test_append_flush_read_round_trip(caches, demo_org, redis_client):
    history = ChangeHistory(caches, clock=lambda: NOW)
    a1 = record(ROLE, "2026-12-06T23:59:59Z", "added")
    a2 = record(ROLE, "2026-12-07T13:40:00Z")
    a3 = record(ROLE, "2026-12-07T14:25:00Z", dataset="aws_config")
    b1 = record(OTHER, "2026-12-07T13:40:00Z", "removed")
    assert history.append([a2, a1, b1, a3]) == 4
    assert redis_client.xlen("consoleme_assets:history") == 4  # the window has them before any flush
    report = WriteReport()
    uris = history.flush("run-1", report)
    bucket = demo_org.cache_bucket
    assert (
        uris
        == report.s3_uris
        == [
            f"s3://{bucket}/{PREFIX}/2026-12-06/iam_resources/run-1-0.jsonl.gz",
            f"s3://{bucket}/{PREFIX}/2026-12-07/aws_config/run-1-0.jsonl.gz",
            f"s3://{bucket}/{PREFIX}/2026-12-07/iam_resources/run-1-0.jsonl.gz",
        ]
    )
    assert report.bytes_written > 0 and not report.notes
    assert read_object(bucket, f"{PREFIX}/2026-12-07/iam_resources/run-1-0.jsonl.gz") == [a2, b1]  # as appended
    assert history.read(ROLE) == [a1, a2, a3]  # oldest first, each once (it is in Redis and in S3)
    assert history.read(OTHER) == [b1]
    assert history.read(ROLE, since_epoch=epoch("2026-12-07T13:40:00Z")) == [a2, a3]
    assert history.read(f"{ROLE}2") == []

    assert history.flush("run-1") == []  # nothing buffered: nothing written
    history.append([a2])  # the same record again (a retried step): a new object, never an overwrite
    assert history.flush("run-1") == [f"s3://{bucket}/{PREFIX}/2026-12-07/iam_resources/run-1-1.jsonl.gz"]
    other_writer = ChangeHistory(caches, clock=lambda: NOW)  # another process of the same run
    other_writer.append([a2])
    assert other_writer.flush("run-1") == [f"s3://{bucket}/{PREFIX}/2026-12-07/iam_resources/run-1-2.jsonl.gz"]
    assert history.read(ROLE) == [a1, a2, a3]


def test_redis_window_is_bounded_by_recent_entries(caches, redis_client):
    history = history_with(caches, history=HistorySettings(recent_entries=5))
    records = [
        record(ROLE, f"2026-12-07T{h:02d}:{m:02d}:{s:02d}Z") for h in range(2) for m in range(60) for s in (0, 30)
    ]
    history.append(records)
    # MAXLEN ~: Redis trims whole stream nodes (100 entries by default), never below the bound
    assert 5 <= redis_client.xlen("consoleme_assets:history") <= 5 + 100 < len(records)
    [(_, newest)] = redis_client.xrevrange("consoleme_assets:history", count=1)
    assert newest == {"arn": ROLE, "record": json.dumps(records[-1], separators=(",", ":"))}
    assert history.read(ROLE)[-1] == records[-1]


def test_read_pages_through_a_long_window(caches):
    history = ChangeHistory(caches, clock=lambda: NOW)
    records = [record(ROLE if i % 2 else OTHER, f"2026-12-07T10:{i // 60:02d}:{i % 60:02d}Z") for i in range(2100)]
    history.append(records)
    assert history.read(ROLE) == records[1::2] and history.read(OTHER) == records[::2]


def test_history_survives_a_redis_flush(caches, redis_client):
    history = ChangeHistory(caches, clock=lambda: NOW)
    records = [record(ROLE, "2026-12-05T10:00:00Z", "added"), record(ROLE, "2026-12-07T13:40:00Z")]
    history.append(records)
    history.flush("run-1")
    redis_client.flushall()
    assert ChangeHistory(caches, clock=lambda: NOW).read(ROLE) == records


def test_sweep_deletes_only_days_past_retention(caches, demo_org, redis_client, monkeypatch):
    history = history_with(caches, history=HistorySettings(retention_seconds="2d"))
    days = ("2026-12-01", "2026-12-05", "2026-12-06", "2026-12-07", "2026-12-08")
    history.append([record(ROLE, f"{d}T10:00:00Z", dataset=ds) for d in days for ds in ("iam_resources", "sqs")])
    history.flush("run-1")
    s3, bucket = boto3.client("s3"), demo_org.cache_bucket
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/README/notes.txt", Body=b"not a day folder: kept")
    s3.put_object(Bucket=bucket, Key="consoleme_assets/other/2026-01-01/x", Body=b"outside the prefix: kept")
    listed = []
    real = caches.s3.list_keys
    monkeypatch.setattr(caches.s3, "list_keys", lambda b, p: listed.append(p) or real(b, p))

    # now - 2 days = 2026-12-06T12:00: a day folder goes once its last second is older than that
    assert history.sweep(NOW) == 4
    assert listed == [f"{PREFIX}/2026-12-01/", f"{PREFIX}/2026-12-05/"]  # never the objects of the days kept
    kept = history_keys(bucket)
    assert sorted({k.split("/")[2] for k in kept}) == ["2026-12-06", "2026-12-07", "2026-12-08", "README"]
    assert len(kept) == 7
    assert s3.get_object(Bucket=bucket, Key="consoleme_assets/other/2026-01-01/x")["Body"].read()
    assert history.sweep(NOW) == 0
    redis_client.flushall()  # what S3 holds now, without the window
    assert [r["time"][:10] for r in history.read(ROLE, since_epoch=0)] == [
        d for d in days[2:] for _ in ("iam_resources", "sqs")
    ]


def test_an_unreadable_object_is_named(caches, demo_org, redis_client):
    history = ChangeHistory(caches, clock=lambda: NOW)
    s3, bucket = boto3.client("s3"), demo_org.cache_bucket
    key = f"{PREFIX}/2026-12-07/iam_resources/bad-0.jsonl.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=b"plain text, not gzip")
    with pytest.raises(HistoryReadError, match=rf"^s3://{bucket}/{key}: not a readable gzip object"):
        history.read(ROLE)
    good = json.dumps(record(ROLE, "2026-12-07T10:00:00Z"))
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(f'{good}\n{{"arn": "{ROLE}", oops\n'.encode()))
    with pytest.raises(HistoryReadError, match=rf"^s3://{bucket}/{key}, line 2: not JSON"):
        history.read(ROLE)
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(f'["{ROLE}"]\n'.encode()))
    with pytest.raises(HistoryReadError, match=rf"{key}, line 1: not a change record"):
        history.read(ROLE)
    redis_client.xadd("consoleme_assets:history", {"arn": ROLE, "record": "{nope"})
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(HistoryReadError, match=r"^Redis stream consoleme_assets:history, entry \d+-\d+: not JSON"):
        history.read(ROLE)
    redis_client.delete("consoleme_assets:history")
    redis_client.set("consoleme_assets:history", "not a stream")
    with pytest.raises(HistoryReadError, match=r"^Redis stream consoleme_assets:history: cannot read: ResponseError"):
        history.read(ROLE)


def test_without_a_bucket_only_the_redis_window_holds_records(caches, demo_org):
    history = history_with(caches, consoleme_s3_bucket=None)
    records = [record(ROLE, "2026-12-07T13:40:00Z")]
    history.append(records)
    report = WriteReport()
    assert history.flush("run-1", report) == []
    note = "history: 1 records kept in the Redis window only, not in S3: no bucket configured"
    assert report.notes == history.notes and report.notes[0].startswith(note)
    assert "consoleme_assets.history.bucket" in report.notes[0]
    assert history_keys(demo_org.cache_bucket) == []
    assert history.read(ROLE) == records
    assert history.sweep(NOW) == 0


def test_replicas_write_no_s3(caches, demo_org):
    history = history_with(caches, active_region="us-west-2")
    history.append([record(ROLE, "2026-12-07T13:40:00Z")])
    assert history.flush("run-1") == [] and "not in S3: replica region" in history.notes[0]
    assert history_keys(demo_org.cache_bucket) == [] and len(history.read(ROLE)) == 1


def test_a_history_bucket_of_its_own_and_a_failed_flush_kept_for_the_next(caches, demo_org):
    history = history_with(caches, history=HistorySettings(bucket="consoleme-history"))
    records = [record(ROLE, "2026-12-07T13:40:00Z")]
    history.append(records)
    with pytest.raises(HistoryWriteError, match=r"1 records not written to s3://consoleme-history/.*NoSuchBucket"):
        history.flush("run-1")
    boto3.client("s3").create_bucket(Bucket="consoleme-history")
    history.append([record(ROLE, "2026-12-07T14:00:00Z")])
    assert history.flush("run-1") == [
        f"s3://consoleme-history/{PREFIX}/2026-12-07/iam_resources/run-1-{n}.jsonl.gz" for n in (0, 1)
    ]
    assert history_keys(demo_org.cache_bucket) == []


def test_bad_records_are_named_and_nothing_is_written(caches, redis_client):
    history = ChangeHistory(caches, clock=lambda: NOW)
    good = record(ROLE, "2026-12-07T13:40:00Z")
    with pytest.raises(ValueError, match=rf"change record {good['id']}: time: expected an ISO 8601 time.*'yesterday'"):
        history.append([good, {**good, "time": "yesterday"}])
    with pytest.raises(ValueError, match="dataset must be a name.*'a/b'"):
        history.append([{**good, "dataset": "a/b"}])
    with pytest.raises(ValueError, match="needs string fields id and arn"):
        history.append([{**good, "arn": None}])
    with pytest.raises(ValueError, match="run_id must be a name"):
        history.flush("../x")
    assert redis_client.xlen("consoleme_assets:history") == 0 and history.flush("run-1") == []


def test_disabled_history_records_nothing(caches, redis_client):
    history = history_with(caches, history=HistorySettings(enabled=False))
    assert history.append([record(ROLE, "2026-12-07T13:40:00Z")]) == 0
    assert redis_client.xlen("consoleme_assets:history") == 0 and history.flush("run-1") == []
