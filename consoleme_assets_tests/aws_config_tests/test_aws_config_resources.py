"""`aws_config_resources` end to end through Dagster against moto and redis-server: formats and replacement."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from decimal import Decimal

import boto3
import pytest

from consoleme_assets.stores.encoding import open_envelope

from .helpers import (
    REGIONS,
    all_accounts_tags,
    config_row,
    dynamo_ids,
    dynamo_table,
    injected_source,
    materializations,
    refresh,
)

KEY = "AWSCONFIG_RESOURCE_CACHE"
POLICY_URL_ENCODED = (
    "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C"
    "%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
)


@pytest.fixture
def los_angeles_tz():
    """A host clock that is not UTC: ConsoleMe's utcnow().timestamp() ttl is 8 h off here."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def s3_data(demo_org, key):
    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=key)["Body"].read()
    return open_envelope(body, gz=True)["data"]


def test_rows_land_in_consoleme_formats(accounts_ready, demo_org, instance, redis_client, los_angeles_tz):
    a, b = demo_org.member_account_ids[:2]
    role = config_row(
        a,
        "us-east-1",
        "AWS::IAM::Role",
        "app",
        tags=[{"key": "owner", "value": "team+x@example.com"}],
        configuration={"roleName": "app", "path": "/", "assumeRolePolicyDocument": POLICY_URL_ENCODED},
    )
    bucket = config_row(
        a,
        "us-east-1",
        "AWS::S3::Bucket",
        "a-logs",
        configuration={"name": "a-logs", "owner": ""},
        supplementaryConfiguration={
            "BucketPolicy": {"policyText": '{"Statement": [{"Action": ["s3:PutObject", "s3:GetObject"]}]}'}
        },
    )
    role_again = {**role, "resourceName": "recorded-twice"}  # IAM is global: two regions may both report it
    no_arn = {**config_row(a, "eu-west-1", "AWS::SQS::Queue", "q"), "arn": None}
    queue = config_row(b, "us-west-2", "AWS::SQS::Queue", "jobs")
    source = injected_source(
        {
            (a, "us-east-1"): [role, bucket],
            (a, "us-west-2"): [role_again],
            (a, "eu-west-1"): [no_arn],
            (b, "us-west-2"): [queue],
        }
    )

    before = time.time()
    result = refresh(instance, source, tags=all_accounts_tags(instance))
    after = time.time()
    assert result.success
    cached = redis_client.hgetall(KEY)
    assert set(cached) == {role["arn"], bucket["arn"], queue["arn"]}

    # ttl: now + 36 h in UTC epoch seconds, whatever the host's timezone (ConsoleMe's formula is 8 h off here)
    ttl = json.loads(cached[role["arn"]])["ttl"]
    assert int(before) + 36 * 3600 <= ttl <= int(after) + 36 * 3600
    consoleme_ttl = int((dt.datetime.utcnow() + dt.timedelta(hours=36)).timestamp())
    assert abs(consoleme_ttl - ttl) >= 7 * 3600

    # ujson's compact text; "/" escaped; URL-encoded policy decoded and parsed; "+" became a space (quirk kept)
    assert cached[role["arn"]] == (
        f'{{"version":"1.3","accountId":"{a}","configurationItemCaptureTime":"2026-01-01T00:00:00.000Z",'
        f'"configurationItemStatus":"OK","arn":"arn:aws:iam::{a}:role\\/app","resourceType":"AWS::IAM::Role",'
        '"resourceId":"id-app","resourceName":"app","awsRegion":"global",'
        '"tags":[{"key":"owner","value":"team x@example.com"}],"relationships":[],'
        '"configuration":{"roleName":"app","path":"\\/","assumeRolePolicyDocument":'
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}},'
        f'"supplementaryConfiguration":{{}},"ttl":{ttl}}}'
    )
    # a nested JSON string is parsed and its lists sorted; "" stays ""
    item = json.loads(cached[bucket["arn"]])
    assert item["supplementaryConfiguration"]["BucketPolicy"]["policyText"] == {
        "Statement": [{"Action": ["s3:GetObject", "s3:PutObject"]}]
    }
    assert item["configuration"]["owner"] == ""

    # DynamoDB: the raw rows (not un-wrapped) with ttl, in ConsoleMe's encoding; one item per key, first wins
    table = dynamo_table()
    raw_role = table.get_item(Key={"resourceId": "id-app", "resourceType": "AWS::IAM::Role"})["Item"]
    assert raw_role["ttl"] == Decimal(ttl) and raw_role["resourceName"] == "app"
    assert raw_role["configuration"]["assumeRolePolicyDocument"] == POLICY_URL_ENCODED
    raw_bucket = table.get_item(Key={"resourceId": "id-a-logs", "resourceType": "AWS::S3::Bucket"})["Item"]
    assert raw_bucket["configuration"]["owner"] == "---DYNAMO-EMPTY-STRING---"
    assert "id-q" in dynamo_ids(a)  # no ARN: not in Redis, but ConsoleMe wrote every row to DynamoDB

    # S3: per-account {arn: value} (the Redis values) and the combined file of the whole hash
    a_file = f"aws_config_cache/cache_{a}_v1.json.gz"
    assert s3_data(demo_org, a_file) == {k: cached[k] for k in (role["arn"], bucket["arn"])}
    assert s3_data(demo_org, f"aws_config_cache/cache_{b}_v1.json.gz") == {queue["arn"]: cached[queue["arn"]]}
    combined = "aws_config_cache_combined/aws_config_resource_cache_combined_v1.json.gz"
    assert s3_data(demo_org, combined) == cached

    mats = materializations(result)
    assert set(mats) == set(demo_org.accounts)
    meta = {k: v.value for k, v in mats[a].metadata.items()}
    assert meta["dagster/row_count"] == 2 and meta["rows_returned"] == 4 and meta["rows_without_arn"] == 1
    assert meta["resource_types"] == {"AWS::IAM::Role": 1, "AWS::S3::Bucket": 1}
    assert meta["regions_read"] == sorted(REGIONS) and meta["regions_failed"] == {}
    assert meta["redis_key"] == KEY and meta["redis_written"] == 2
    assert meta["s3_uris"] == [f"s3://{demo_org.cache_bucket}/{a_file}"]
    assert meta["dynamodb_table"] == "consoleme_resource_cache" and meta["dynamodb_written"] == 3
    # The run-level combined file is reported once, on the account that landed last.
    last = [m.metadata for m in mats.values() if "combined_s3_uris" in m.metadata]
    assert len(last) == 1 and last[0]["combined_s3_uris"].value == [f"s3://{demo_org.cache_bucket}/{combined}"]
    assert last[0]["cached_resources_all_accounts"].value == 3
    assert mats[demo_org.member_account_ids[2]].metadata["dagster/row_count"].value == 0


def test_vanished_resource_leaves_redis_and_dynamodb_other_account_untouched(
    accounts_ready, demo_org, instance, redis_client
):
    a, b = demo_org.member_account_ids[:2]
    role = config_row(a, "us-east-1", "AWS::IAM::Role", "app")
    bucket = config_row(a, "us-east-1", "AWS::S3::Bucket", "gone")
    queue = config_row(b, "us-east-1", "AWS::SQS::Queue", "jobs")
    assert refresh(
        instance,
        injected_source({(a, "us-east-1"): [role, bucket], (b, "us-east-1"): [queue]}),
        tags=all_accounts_tags(instance),
    ).success
    b_value = redis_client.hget(KEY, queue["arn"])

    result = refresh(instance, injected_source({(a, "us-east-1"): [role]}), partition_key=a)
    assert result.success
    assert set(redis_client.hgetall(KEY)) == {role["arn"], queue["arn"]}
    assert redis_client.hget(KEY, queue["arn"]) == b_value  # byte for byte
    assert dynamo_ids(a) == {"id-app"} and dynamo_ids(b) == {"id-jobs"}
    meta = materializations(result)[a].metadata
    assert meta["redis_deleted"].value == 1 and meta["dynamodb_deleted"].value == 1


def consoleme_value(account_id, row, ttl):
    """An entry as ConsoleMe itself wrote it (no owner index of ours exists yet)."""
    from consoleme_assets.stores.config_cache import redis_value

    return redis_value({**row, "accountId": account_id, "ttl": ttl})


def test_first_run_takes_over_entries_consoleme_wrote(accounts_ready, demo_org, instance, redis_client):
    a, b = demo_org.member_account_ids[:2]
    future = int(time.time()) + 3600
    old_bucket = config_row(a, "us-east-1", "AWS::S3::Bucket", "deleted-since")  # S3 ARNs name no account
    other = config_row(b, "us-east-1", "AWS::S3::Bucket", "b-bucket")
    managed = {**config_row(a, "us-east-1", "AWS::IAM::Role", "x"), "arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    redis_client.hset(
        KEY, mapping={r["arn"]: consoleme_value(r["accountId"], r, future) for r in (old_bucket, other, managed)}
    )
    for r in (old_bucket, other):
        dynamo_table().put_item(Item={**r, "ttl": future})

    role = config_row(a, "us-east-1", "AWS::IAM::Role", "app")
    assert refresh(instance, injected_source({(a, "us-east-1"): [role]}), partition_key=a).success
    assert set(redis_client.hgetall(KEY)) == {role["arn"], other["arn"], managed["arn"]}  # AWS-owned ARNs stay
    assert dynamo_ids() == {"id-app", "id-b-bucket"}


def test_expired_entries_are_swept_and_left_out_of_the_combined_file(accounts_ready, demo_org, instance, redis_client):
    a = demo_org.member_account_ids[0]
    unrefreshed = "999999999999"  # an account no partition refreshes any more
    now = int(time.time())
    expired = config_row(unrefreshed, "us-east-1", "AWS::SQS::Queue", "old")
    fresh = config_row(unrefreshed, "us-east-1", "AWS::SQS::Queue", "recent")
    redis_client.hset(
        KEY,
        mapping={
            expired["arn"]: consoleme_value(unrefreshed, expired, now - 60),
            fresh["arn"]: consoleme_value(unrefreshed, fresh, now + 600),
        },
    )
    dynamo_table().put_item(Item={**expired, "ttl": now - 60})

    result = refresh(instance, injected_source({}), partition_key=a)
    assert result.success
    assert set(redis_client.hgetall(KEY)) == {fresh["arn"]}
    assert "id-old" not in dynamo_ids()
    combined = s3_data(demo_org, "aws_config_cache_combined/aws_config_resource_cache_combined_v1.json.gz")
    assert set(combined) == {fresh["arn"]}
    assert materializations(result)[a].metadata["expired_swept"].value == 1
