"""`policy_requests` end to end: consoleme_policy_requests in moto -> ALL_POLICY_REQUESTS in redis-server + S3."""

import json

import boto3
import dagster as dg
import pytest

from consoleme_assets.sandbox import seed_requests
from consoleme_assets.stores import tables as dynamo_sources
from consoleme_assets.stores.dynamo_store import DynamoStore
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets.stores.tables import DynamoSourceError, scan_items
from consoleme_assets_tests.catalog import policy_requests

TABLE = "consoleme_policy_requests"
S3_KEY = "policy_requests/all_policy_requests_v1.json.gz"
EMPTY = {"S": "---DYNAMO-EMPTY-STRING---"}  # how ConsoleMe stores "" in DynamoDB


def materialize(instance, resources):
    return dg.materialize([policy_requests], instance=instance, resources=resources, raise_on_error=False)


def seeded_requests(demo_org):
    """The seed's items as ConsoleMe's cache shows them: v2, with the top-level `arn` dropped by the v3 pass."""
    ids = {name: account_id for account_id, name in demo_org.accounts.items()}
    out = []
    for request in seed_requests.POLICY_REQUESTS:
        item = seed_requests.policy_request_item(request, ids[request["account"]])
        del item["arn"]
        out.append(item)
    return out


def extra_item(n):
    """An item as ConsoleMe writes it: numbers as N, "" as the placeholder, nested too; one v1-style item."""
    return {
        "request_id": {"S": f"extra-{n:02d}"},
        "arn": {"S": f"arn:aws:iam::111122223333:role/extra-{n}"},
        "status": {"S": "pending"},
        "request_time": {"N": str(1700000000 + n)},
        "last_updated": {"N": f"{1700000000 + n}.5"},
        "justification": EMPTY,
        "username": {"S": f"user{n}@example.com"},
        "policy_changes": {"S": "[]"},
        "resources": {"L": [{"M": {"name": EMPTY, "count": {"N": str(n)}}}]},
    }


def expected_extra(n):
    return {
        "request_id": f"extra-{n:02d}",
        "arn": f"arn:aws:iam::111122223333:role/extra-{n}",
        "status": "pending",
        "request_time": 1700000000 + n,
        "last_updated": 1700000000 + n + 0.5,
        "justification": "",
        "username": f"user{n}@example.com",
        "policy_changes": "[]",
        "resources": [{"name": "", "count": n}],
    }


def test_caches_all_requests_newest_first(sandbox_env, demo_org, instance, resources, redis_client):
    result = materialize(instance, resources)
    assert result.success
    expected = sorted(seeded_requests(demo_org), key=lambda r: r["request_time"], reverse=True)
    cached = json.loads(redis_client.get("ALL_POLICY_REQUESTS"))
    assert cached == expected
    assert [r["request_id"] for r in cached] == [r["request_id"] for r in expected]
    assert int(redis_client.hget("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", "ALL_POLICY_REQUESTS")) > 0

    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    assert open_envelope(body, gz=True)["data"] == cached

    meta = result.asset_materializations_for_node("policy_requests")[0].metadata
    assert meta["dagster/row_count"].value == 3
    assert meta["redis_keys"].value == ["ALL_POLICY_REQUESTS"]
    assert meta["s3_uris"].value == [f"s3://{demo_org.cache_bucket}/{S3_KEY}"]
    assert meta["by_version"].value == {"2": 3}
    assert len(meta["preview"].value.records) == 3


def test_table_is_never_written(sandbox_env, demo_org, instance, resources):
    client = boto3.client("dynamodb")
    before = client.scan(TableName=TABLE)["Items"]
    assert all("arn" in item for item in before)  # v2 items still carry the GSI attribute
    assert materialize(instance, resources).success
    assert sorted(client.scan(TableName=TABLE)["Items"], key=str) == sorted(before, key=str)


def test_every_page_is_decoded(sandbox_env, demo_org, instance, resources, redis_client, monkeypatch):
    client = boto3.client("dynamodb")
    for n in range(7):
        client.put_item(TableName=TABLE, Item=extra_item(n))
    monkeypatch.setattr(dynamo_sources, "SCAN_PAGE_SIZE", 2)  # 10 items -> at least 5 Scan pages

    assert materialize(instance, resources).success
    cached = json.loads(redis_client.get("ALL_POLICY_REQUESTS"))
    # the extra items (2023) are older than the seeded ones (2026): they come last
    expected = sorted(seeded_requests(demo_org), key=lambda r: r["request_time"], reverse=True)
    expected += [expected_extra(n) for n in reversed(range(7))]
    assert cached == expected
    raw = redis_client.get("ALL_POLICY_REQUESTS")
    assert "DYNAMO-EMPTY-STRING" not in raw


def test_scan_reads_many_pages(sandbox_env, demo_org, monkeypatch):
    client = boto3.client("dynamodb")
    for n in range(7):
        client.put_item(TableName=TABLE, Item=extra_item(n))

    calls = []

    class CountingTable:
        def __init__(self, table):
            self.table = table

        def scan(self, **kwargs):
            calls.append(kwargs)
            return self.table.scan(**kwargs)

    class CountingResource:
        def __init__(self):
            self.resource = boto3.resource("dynamodb")

        def Table(self, name):  # noqa: N802 (boto3's name)
            return CountingTable(self.resource.Table(name))

    monkeypatch.setattr(dynamo_sources, "SCAN_PAGE_SIZE", 3)
    items = scan_items(DynamoStore(CountingResource()), TABLE)
    assert len(items) == 10
    assert len(calls) >= 4 and all(c["Limit"] == 3 for c in calls)
    assert "ExclusiveStartKey" not in calls[0] and all("ExclusiveStartKey" in c for c in calls[1:])
    assert {i["request_id"]: i["justification"] for i in items if i["request_id"].startswith("extra")} == {
        f"extra-{n:02d}": "" for n in range(7)
    }


def test_failed_scan_keeps_the_last_good_cache(sandbox_env, demo_org, instance, resources, redis_client):
    assert materialize(instance, resources).success
    before = redis_client.get("ALL_POLICY_REQUESTS")
    s3 = boto3.client("s3")
    s3_before = s3.get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()

    boto3.client("dynamodb").delete_table(TableName=TABLE)
    result = materialize(instance, resources)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error.cause)
    assert "DynamoDB table consoleme_policy_requests: Scan: ResourceNotFoundException" in error
    assert redis_client.get("ALL_POLICY_REQUESTS") == before
    assert s3.get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read() == s3_before


def test_scan_without_store_names_the_table():
    with pytest.raises(DynamoSourceError, match="DynamoDB table t1: no DynamoDB store configured"):
        scan_items(None, "t1")
