"""The seeded sandbox behind a fault-injecting proxy, and helpers to refresh and snapshot the caches."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import boto3
import pytest

from consoleme_assets.cli.refresh import run_refresh
from consoleme_assets_tests.faults.proxy import FaultProxy

# Values that change on every write (epochs), so two runs over the same AWS data differ only in them.
# RoleLastUsed moves because the refresh itself uses the spoke role.
# ResponseMetadata: the merged GAAD file keeps its first page's (as ConsoleMe's does), a new request id each call.
VOLATILE_FIELDS = frozenset({"last_updated", "ttl", "LastUsedDate", "ResponseMetadata"})
BOOKKEEPING = "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED"


@pytest.fixture
def proxy(moto_server) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server.url) as p:
        yield p


@pytest.fixture
def fault_env(monkeypatch, sandbox_env, proxy) -> dict[str, str]:
    """The seeded sandbox (Redis flushed), with every AWS call of the code going through `proxy`."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    return {**sandbox_env, "AWS_ENDPOINT_URL": proxy.url}


class Refresher:
    def __init__(self, instance):
        from consoleme_assets.definitions import defs

        self.defs, self.instance = defs, instance
        self.lines: list[str] = []

    def __call__(self, names: list[str] | None = None, accounts: set[str] | None = None) -> list[str]:
        """One headless refresh (as `consoleme-assets refresh`); returns its failure lines."""
        self.lines = []
        known = sorted(k.to_user_string() for a in self.defs.assets for k in a.keys if a.is_executable)
        return run_refresh(self.defs, self.instance, names or known, accounts, out=self.lines.append)


@pytest.fixture
def few_retries(fault_env, tmp_path, monkeypatch) -> None:
    """Two attempts per call: a fault that never clears would otherwise cost a minute of backoff."""
    cfg = tmp_path / "few-retries.yaml"
    cfg.write_text(f"extends: {fault_env['CONSOLEME_ASSETS_CONFIG']}\nconsoleme_assets: {{aws_max_attempts: 2}}\n")
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(cfg))


@pytest.fixture
def refresh(instance) -> Refresher:
    return Refresher(instance)


def _strip(value):
    if isinstance(value, dict):
        # An AWS-managed policy is the same in every account; its entry carries the accountId of whichever
        # account wrote it last (ConsoleMe's behaviour too), which depends on the order accounts finish.
        shared = ":aws:policy/" in str(value.get("arn") or value.get("Arn") or "")
        return {
            k: _strip(v)
            for k, v in value.items()
            if k not in VOLATILE_FIELDS and not (shared and k in ("accountId", "AttachmentCount"))
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _strip(json.loads(value))
        except ValueError:
            return value
    return value


def redis_snapshot(client, volatile: bool = False) -> dict[str, object]:
    """Every ConsoleMe key's decoded value (without epochs unless `volatile`); bookkeeping keys left out."""
    out: dict[str, object] = {}
    for key in sorted(client.keys("*")):
        if key == BOOKKEEPING or key.startswith("consoleme_assets:"):
            continue
        kind = client.type(key)
        raw = client.hgetall(key) if kind == "hash" else client.get(key) if kind == "string" else kind
        out[key] = raw if volatile else _strip(raw)
    return out


def s3_snapshot(bucket: str, endpoint: str) -> dict[str, object]:
    """Every S3 cache object's `data` (bypassing the proxy)."""
    s3 = boto3.client("s3", endpoint_url=endpoint)
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            if obj["Key"].endswith(".gz"):
                body = gzip.decompress(body)
            out[obj["Key"]] = _strip(json.loads(body)["data"])
    return out
