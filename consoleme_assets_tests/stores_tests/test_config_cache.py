"""AWS Config cache formats (pure) and ConfigCacheStore against redis-server and moto."""

from __future__ import annotations

import json

import boto3
import pytest

from consoleme_assets.aws.arns import is_aws_managed
from consoleme_assets.aws_config.datasets import STORAGE
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.stores.config_cache import (
    TTL_SECONDS,
    ConfigBatch,
    ConfigCacheStore,
    _dynamo_size,
    config_batch,
    dumps_ujson,
    redis_value,
    ttl_of,
    un_wrap_json,
)

KEY = "AWSCONFIG_RESOURCE_CACHE"
A, B = "111111111111", "222222222222"


# -- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": "[\\"b\\", \\"a\\"]"}', {"a": ["a", "b"]}),  # JSON inside JSON, lists sorted
        ('"{\\"q\\": 1}"', {"q": 1}),  # double-wrapped
        ("a+b%2Fc", "a b/c"),  # unquote_plus: "+" is a space
        ("%2525", "%"),  # decoded until stable
        ("%7B%22x%22%3A%22%5B2%2C1%5D%22%7D", {"x": [1, 2]}),  # URL-encoded JSON (IAM policy documents)
        ("[not json+x", "[not json+x"),  # looks like JSON, is not: raw, and not URL-decoded either
        ([3, 1, 2], [1, 2, 3]),
        ([{"b": 1}, {"a": 1}], [{"b": 1}, {"a": 1}]),  # unsortable: order kept
        ([1, "a"], [1, "a"]),
        ({"k+1": "v+1"}, {"k+1": "v 1"}),  # keys are left alone
        (None, None),
        (True, True),
        (1.5, 1.5),
        ("", ""),
    ],
)
def test_un_wrap_json(raw, expected):
    assert un_wrap_json(raw) == expected


def test_dumps_matches_consoleme_ujson_byte_for_byte():
    # Expected strings produced with ujson 5.4.0 (ConsoleMe's pin), which is not installed here.
    value = {
        "a": "arn:aws:iam::1:role/x",
        "b": [1, 2.5, 1e16, 1e-5, 0.1, 1.0, True, None],
        "c": "é\u2028\x01\n\t<&>'\"\\",
    }
    assert dumps_ujson(value) == (
        '{"a":"arn:aws:iam::1:role\\/x","b":[1,2.5,1e+16,1e-5,0.1,1.0,true,null],'
        '"c":"\\u00e9\\u2028\\u0001\\n\\t<&>\'\\"\\\\"}'
    )
    assert dumps_ujson({"x": {"y": []}, "s": 1.5e-07, "m": 12345678901234567890.0}) == (
        '{"x":{"y":[]},"s":1.5e-7,"m":1.2345678901234567e+19}'
    )
    assert dumps_ujson("😀") == '"\\ud83d\\ude00"'


def test_config_batch_first_arn_wins_rows_without_arn_only_in_dynamodb():
    def row(arn, rid, name, kind="AWS::SQS::Queue"):
        return {"accountId": A, "arn": arn, "resourceId": rid, "resourceType": kind, "resourceName": name}

    rows = [
        row("arn:x", "x", "first"),
        row("arn:x", "x", "second"),
        row(None, "n", "no-arn"),
        row("arn:y", "y", "y", kind="AWS::S3::Bucket"),
        row("arn:z", "", "no-resource-id"),
    ]
    batch = config_batch(A, rows, now=1_700_000_000.9, regions_ok=["us-west-2", "us-east-1"])
    assert list(batch.values) == ["arn:x", "arn:y", "arn:z"]
    assert json.loads(batch.values["arn:x"]) == {**rows[0], "ttl": 1_700_000_000 + TTL_SECONDS}
    assert [i["resourceName"] for i in batch.dynamo_items] == ["first", "no-arn", "y"]
    assert all(i["ttl"] == 1_700_000_000 + TTL_SECONDS for i in batch.dynamo_items)
    assert batch.resource_types == {"AWS::S3::Bucket": 1, "AWS::SQS::Queue": 2}
    assert (batch.rows_returned, batch.rows_without_arn, batch.regions_ok) == (5, 1, ["us-east-1", "us-west-2"])
    assert "ttl" not in rows[0]  # the caller's rows are not modified


def test_ttl_of_reads_the_trailing_ttl_or_parses():
    assert ttl_of(redis_value({"arn": "a", "ttl": 5})) == 5
    assert ttl_of('{"ttl": 7, "arn": "a"}') == 7  # not last: parsed
    assert ttl_of('{"arn": "a"}') is None and ttl_of("not json") is None and ttl_of('{"ttl": true}') is None


def test_aws_owned_arns():
    assert is_aws_managed("arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert not is_aws_managed("arn:aws:s3:::bucket") and not is_aws_managed(f"arn:aws:iam::{A}:role/x")


def test_dynamo_size_counts_the_empty_string_placeholder():
    assert _dynamo_size({"a": ""}) == len('{"a": ""}') + 23


# -- store against redis-server and moto ---------------------------------------------------------


@pytest.fixture
def store(sandbox_env, redis_client) -> ConfigCacheStore:
    return ConfigCacheStore(ConsoleMeResource().caches(), STORAGE, clock=lambda: 1_700_000_000.0)


def item(account_id, name, region="us-east-1", ttl=1_700_100_000, **extra):
    return {
        "accountId": account_id,
        "arn": f"arn:aws:s3:::{name}",
        "resourceId": name,
        "resourceType": "AWS::S3::Bucket",
        "awsRegion": region,
        **extra,
        "ttl": ttl,
    }


def test_previous_entries_scan_by_account_then_owner_index(store, redis_client):
    redis_client.hset(
        KEY, mapping={"arn:aws:s3:::a1": redis_value(item(A, "a1")), "arn:aws:s3:::b1": redis_value(item(B, "b1"))}
    )
    assert set(store.previous_entries(A)) == {"arn:aws:s3:::a1"}  # no index yet: the item's accountId decides
    store.write_account(ConfigBatch(A, {"arn:aws:s3:::a2": redis_value(item(A, "a2"))}))
    redis_client.hset(KEY, "arn:aws:s3:::a3", redis_value(item(A, "a3")))  # written behind our back
    assert set(store.previous_entries(A)) == {"arn:aws:s3:::a2"}  # the owner index decides now
    assert set(redis_client.hgetall(KEY)) == {"arn:aws:s3:::a2", "arn:aws:s3:::a3", "arn:aws:s3:::b1"}


def test_sweep_spares_an_entry_refreshed_since_the_scan(store, redis_client):
    old = {f"arn:aws:s3:::{n}": redis_value(item(A, n, ttl=1_699_999_000)) for n in ("x", "y")}
    redis_client.hset(KEY, mapping=old)
    redis_client.hset(KEY, "arn:aws:s3:::y", redis_value(item(A, "y", ttl=1_700_200_000)))  # refreshed meanwhile
    assert store._delete_if_unchanged(old) == 1
    assert set(redis_client.hgetall(KEY)) == {"arn:aws:s3:::y"}
    assert redis_client.hget("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", KEY) is not None


def test_sweep_compares_ttl_with_utc_now(store, redis_client):
    redis_client.hset(
        KEY,
        mapping={
            "arn:aws:s3:::past": redis_value(item(A, "past", ttl=1_699_999_999)),
            "arn:aws:s3:::future": redis_value(item(A, "future", ttl=1_700_000_001)),
            "arn:aws:s3:::odd": "not json",
        },
    )
    report = store.sweep_expired()
    assert (report.expired, report.without_ttl) == (1, 1)
    assert set(redis_client.hgetall(KEY)) == {"arn:aws:s3:::future", "arn:aws:s3:::odd"}


def test_item_too_large_for_dynamodb_is_skipped_not_fatal(store, redis_client):
    huge = item(A, "huge", configuration={"blob": "x" * 420_000})
    small = item(A, "small")
    batch = config_batch(A, [huge, small], now=1_700_000_000)
    report = store.write_account(batch)
    assert (report.dynamodb_written, report.dynamodb_skipped) == (1, 1)
    assert redis_client.hexists(KEY, "arn:aws:s3:::huge")
    scanned = boto3.resource("dynamodb").Table("consoleme_resource_cache").scan()["Items"]
    assert [i["resourceId"] for i in scanned] == ["small"]


def test_replica_source_errors_name_account_and_object(store, tmp_path, sandbox_env):
    with pytest.raises(
        LookupError,
        match=f"account {A}: s3://consoleme-sandbox-cache/aws_config_cache/cache_{A}_v1"
        r"\.json\.gz does not exist",
    ):
        store.read_primary_copy(A)
    bare = tmp_path / "bare.yaml"
    bare.write_text("{}\n")
    no_bucket = ConfigCacheStore(ConsoleMeResource(config_file=str(bare)).caches(), STORAGE)
    with pytest.raises(LookupError, match=f"account {A}: no S3 bucket .*aws_config_cache.s3.bucket"):
        no_bucket.read_primary_copy(A)


def test_missing_table_skips_dynamodb_but_not_redis_or_s3(store, redis_client):
    boto3.client("dynamodb").delete_table(TableName="consoleme_resource_cache")
    report = store.write_account(config_batch(A, [item(A, "a")], now=1_700_000_000))
    assert report.dynamodb_table is None
    assert "DynamoDB skipped: table consoleme_resource_cache does not exist" in report.notes
    assert redis_client.hexists(KEY, "arn:aws:s3:::a") and report.s3_uris
