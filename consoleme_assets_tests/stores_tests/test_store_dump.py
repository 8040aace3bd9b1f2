"""Golden dump: a full refresh of the sandbox writes exactly the recorded store contents.

Every Redis key (type, value, whether it expires), every item of every DynamoDB table and every S3 object the
hub can see (gunzipped) after `consoleme-assets refresh` of every asset, compared with the file recorded next
to this test. It guards refactors of the store layer: the bytes ConsoleMe's web tier reads must not change.

Re-record (only when a format change is intended): RECORD_STORE_DUMP=1 .venv/bin/pytest -q <this file>

Normalisation (only what legitimately differs from run to run; everything else is compared byte for byte):
- moto's random ids (organization id, role/user ids, request ids, ...) are made stable by seeding moto's random
  generator (`/moto-api/seed`) before the demo org is seeded, so they are not normalised at all.
- Epoch seconds near now (a standalone 10-digit number, optionally with a fraction, within three years of the
  test's clock): `ttl` values, S3 envelopes' `last_updated`, the LAST_UPDATED stamps, moto's creation times,
  CloudTrail item times. Each becomes 1111111111 (same width, still a number, valid at any JSON nesting depth).
- ISO-8601 timestamps (moto's CreateDate and similar): every digit becomes 0, the shape is kept.
- Order that comes from iterating a Redis hash (HSCAN order follows Redis's per-process hash seed and the order
  accounts finished): the fields of hash mirrors in S3 (the combined files, `{"data": {field: "<json>"}}`), and
  the rows and keys of ALL_POLICIES and REVERSE_AUTHORIZATION_MAPPING_V1 and their S3 copies, are sorted, in
  exactly the layout they were written in (a text our writers' layouts do not reproduce is left as it is).
- AWS-managed policies (`arn:aws:iam::aws:...`) are one shared field written by every account's refresh: the
  account that finished last wins, so in those entries `accountId` and the per-account `AttachmentCount` /
  `PermissionsBoundaryUsageCount` become stand-ins.
Each value is normalised as text first; the dump keeps both a digest of that exact text (so a change in
separators, key order or escaping fails) and its parsed form (so the failure shows a readable diff).
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
import os
import re
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from consoleme_assets.sandbox import seed_demo_org
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG
from consoleme_assets.stores.s3_copies import S3_DIGESTS_KEY

RECORDED = Path(__file__).with_name("store_dump.json.gz")  # gzipped: 2.7 MB of JSON, mostly AWS-managed policies
RECORD_ENV = "RECORD_STORE_DUMP"
MOTO_SEED = 20240101
EPOCH_STAND_IN = "1111111111"
_EPOCH = re.compile(r"(?<![\w.])(\d{10})(\.\d+)?(?![\w.])")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def normalise_text(text: str, now: float) -> str:
    def epoch(match: re.Match) -> str:
        return EPOCH_STAND_IN if abs(int(match.group(1)) - now) < 3 * 365 * 86400 else match.group(0)

    text = _ISO.sub(lambda m: re.sub(r"\d", "0", m.group(0)), text)
    return _EPOCH.sub(epoch, text)


_SHARED_FIELD = "arn:aws:iam::aws:"
_SHARED_VARIES = re.compile(r'(\\*"(?:AttachmentCount|PermissionsBoundaryUsageCount)\\*": )\d+')
_SHARED_ACCOUNT = re.compile(r'(\\*"accountId\\*": \\*")\d{12}')


def normalise_shared(field: str, text: str) -> str:
    """An AWS-managed policy's entry, whichever account wrote it last."""
    if not field.startswith(_SHARED_FIELD):
        return text
    return _SHARED_ACCOUNT.sub(r"\g<1>000000000000", _SHARED_VARIES.sub(r"\g<1>0", text))


# The layouts our writers produce: dumps_consoleme (json.dumps defaults) and the S3 envelope (indent=2).
_LAYOUTS = ({}, {"indent": 2})


def reordered(text: str, reorder) -> str:
    """`text` with its JSON re-ordered by `reorder`, in exactly the layout it was written in. A text no known
    layout reproduces is returned as it is (and then fails the comparison if its order varied)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    for layout in _LAYOUTS:
        if json.dumps(doc, **layout) == text:
            return json.dumps(reorder(doc), **layout)
    return text


def sort_hash_mirror(doc: Any) -> Any:
    data = doc.get("data") if isinstance(doc, dict) else None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        doc["data"] = {f: normalise_shared(f, v) for f, v in sorted(data.items())}
    return doc


def sort_everything(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: sort_everything(v) for k, v in sorted(doc.items())}
    if isinstance(doc, list):
        return sorted((sort_everything(v) for v in doc), key=lambda v: json.dumps(v, sort_keys=True))
    return doc


# Documents built by iterating a Redis hash (HSCAN order: Redis's per-process hash seed), rows and keys sorted.
UNORDERED_REDIS_KEYS = {"ALL_POLICIES", "REVERSE_AUTHORIZATION_MAPPING_V1"}
UNORDERED_S3_KEYS = {
    "policies_table/cache_policies_table_details_v1.json.gz",
    "reverse_authorization_mapping/reverse_authorization_mapping_v1.json.gz",
}


def structure(value: Any) -> Any:
    """Strings holding JSON documents become the documents (recursively), for readable diffs."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return structure(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [structure(v) for v in value]
    return value


def entry(text: str, now: float) -> dict[str, Any]:
    text = normalise_text(text, now)
    return {"sha256": hashlib.sha256(text.encode()).hexdigest()[:16], "value": structure(text)}


# Our own bookkeeping added after the recording, which ConsoleMe never reads: the digests of the S3 copies (written
# only when changed). Their values hash data that holds write times, so they differ on every run.
NOT_DUMPED = {S3_DIGESTS_KEY}


def dump_redis(client, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(client.scan_iter(count=1000)):
        if key in NOT_DUMPED:
            continue
        kind = client.type(key)
        record: dict[str, Any] = {"type": kind, "expires": client.ttl(key) >= 0}
        if kind == "string":
            value = client.get(key)
            record["value"] = entry(reordered(value, sort_everything) if key in UNORDERED_REDIS_KEYS else value, now)
        elif kind == "hash":
            record["fields"] = {f: entry(normalise_shared(f, v), now) for f, v in sorted(client.hgetall(key).items())}
        elif kind == "set":
            record["members"] = sorted(normalise_text(m, now) for m in client.smembers(key))
        elif kind == "list":
            record["items"] = [entry(v, now) for v in client.lrange(key, 0, -1)]
        else:
            pytest.fail(f"Redis key {key}: type {kind} is not dumped; extend dump_redis")
        out[key] = record
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(v if isinstance(v, (str, int, float)) else _plain(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(type(value).__name__)


def dump_dynamodb(endpoint: str, now: float) -> dict[str, Any]:
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    out: dict[str, Any] = {}
    for name in sorted(resource.meta.client.list_tables()["TableNames"]):
        items, kwargs = [], {}
        while True:
            page = resource.Table(name).scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # Attribute order in a boto3 item is not meaningful (DynamoDB has none): keys sorted, items sorted.
        texts = sorted(json.dumps(item, default=_plain, sort_keys=True) for item in items)
        out[name] = [entry(t, now) for t in texts]
    return out


def per_request_metadata_out(text: str) -> str:
    """A merged GAAD file keeps its first page's ResponseMetadata, as ConsoleMe's does: a request id and HTTP
    headers new on every call. Its presence is recorded, not its values."""
    doc = json.loads(text)
    if isinstance(doc.get("data"), dict) and "ResponseMetadata" in doc["data"]:
        doc["data"]["ResponseMetadata"] = "<per request>"
    return json.dumps(doc, indent=2)


def dump_s3(endpoint: str, now: float) -> dict[str, Any]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    out: dict[str, Any] = {}
    for bucket in sorted(b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                if obj["Key"].endswith(".gz"):
                    body = gzip.decompress(body)
                order = sort_everything if obj["Key"] in UNORDERED_S3_KEYS else sort_hash_mirror
                text = (
                    per_request_metadata_out(body.decode())
                    if "/get_account_authorization_details_" in obj["Key"]
                    else body.decode()
                )
                out[f"s3://{bucket}/{obj['Key']}"] = entry(reordered(text, order), now)
    return dict(sorted(out.items()))


def store_dump(redis_client, endpoint: str, now: float) -> dict[str, Any]:
    return {
        "redis": dump_redis(redis_client, now),
        "dynamodb": dump_dynamodb(endpoint, now),
        "s3": dump_s3(endpoint, now),
    }


def first_differences(recorded: dict[str, Any], actual: dict[str, Any], limit: int = 8) -> str:
    """A unified diff of the first differing keys (per store), each shown as its pretty JSON."""
    parts = []
    for store in ("redis", "dynamodb", "s3"):
        old, new = recorded.get(store, {}), actual.get(store, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) == new.get(key):
                continue
            a = json.dumps(old.get(key), indent=1, sort_keys=True).splitlines() if key in old else ["<absent>"]
            b = json.dumps(new.get(key), indent=1, sort_keys=True).splitlines() if key in new else ["<absent>"]
            diff = list(difflib.unified_diff(a, b, f"recorded {store} {key}", f"now {store} {key}", n=2, lineterm=""))
            parts.append("\n".join(diff[:60] + (["  ..."] if len(diff) > 60 else [])))
            if len(parts) >= limit:
                return "\n\n".join(parts) + "\n\n(further differences not shown)"
    return "\n\n".join(parts)


@pytest.fixture
def seeded_sandbox(monkeypatch, aws_env, redis_client, moto):
    """moto with its random generator seeded, then the demo org; Redis empty; the sandbox's settings."""
    request = urllib.request.Request(f"{moto.url}/moto-api/seed?a={MOTO_SEED}", method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
        assert answer.status == 200
    demo = seed_demo_org(moto.url)
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(SANDBOX_CONFIG))
    return demo


def test_full_refresh_writes_the_recorded_store_contents(seeded_sandbox, redis_client, moto, instance, tmp_path):
    import dagster as dg

    from consoleme_assets.cli.refresh import run_refresh
    from consoleme_assets.definitions import defs

    names = sorted(
        key.to_user_string()
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition) and a.is_executable
        for key in a.keys
    )
    lines: list[str] = []
    assert run_refresh(defs, instance, names, None, out=lines.append) == [], lines
    actual = store_dump(redis_client, moto.url, time.time())

    if os.environ.get(RECORD_ENV):
        RECORDED.write_bytes(gzip.compress((json.dumps(actual, indent=1, sort_keys=True) + "\n").encode(), mtime=0))
        pytest.skip(f"recorded {RECORDED.name} ({RECORD_ENV} is set)")
    assert RECORDED.exists(), f"{RECORDED} is missing: record it with {RECORD_ENV}=1 .venv/bin/pytest -q {__file__}"
    recorded = json.loads(gzip.decompress(RECORDED.read_bytes()))
    counts = {store: len(actual[store]) for store in actual}
    if actual != recorded:
        (tmp_path / "store_dump.json").write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert actual == recorded, (
        f"the stores a full refresh wrote differ from {RECORDED.name} ({counts}). If the change is intended, "
        f"re-record with {RECORD_ENV}=1 .venv/bin/pytest -q {__file__}\nThis run's dump: "
        f"{tmp_path / RECORDED.name}\n\n" + first_differences(recorded, actual)
    )
