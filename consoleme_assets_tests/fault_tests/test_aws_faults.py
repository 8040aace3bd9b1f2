"""AWS misbehaving (through the fault proxy): throttling, one account refused, one region down, S3 down."""

import boto3

from consoleme_assets_tests.inventory_tests.support import member_client

from .conftest import redis_snapshot, s3_snapshot

PER_ACCOUNT = ["s3_buckets", "sqs_queues", "sns_topics", "iam_resources", "managed_policies"]


def test_throttling_storm_completes_with_the_same_caches(fault_env, proxy, refresh, redis_client, demo_org, moto):
    assert refresh(["aws_accounts", *PER_ACCOUNT]) == []
    clean_redis, clean_s3 = redis_snapshot(redis_client), s3_snapshot(demo_org.cache_bucket, moto.url)
    redis_client.flushall()
    proxy.clear()
    # Calls of one service per protocol answered with that protocol's throttling error (IAM's query protocol,
    # SQS's JSON, S3's REST-XML), 5 of each: 30% of IAM's and S3's many calls, the first of SQS's few (one
    # ListQueues per account and region). Each throttle costs a retry's back-off; a longer storm only costs time.
    storms = [
        proxy.inject("throttle", fraction=fraction, limit=5, service=service)
        for service, fraction in (("iam", 0.3), ("sqs", 1.0), ("s3", 0.3))
    ]
    assert refresh(["aws_accounts", *PER_ACCOUNT]) == [], refresh.lines
    faulted = {c.faulted for c in proxy.calls if c.faulted}
    hits = [storm.hits for storm in storms]
    assert hits == [5, 5, 5] and {"Throttling", "ThrottlingException", "SlowDown"} <= faulted, (hits, faulted)
    assert redis_snapshot(redis_client) == clean_redis
    assert s3_snapshot(demo_org.cache_bucket, moto.url) == clean_s3


def _victim_state(redis_client, demo_org, victim):
    """The victim's cached bytes: its field in each list hash, its IAM entries, its S3 copies."""
    state = {
        key: redis_client.hget(key, victim)
        for key in ("S3_BUCKETS", "SQS_QUEUES", "SNS_TOPICS", "IAM_MANAGED_POLICIES")
    }
    for key in ("IAM_ROLE_CACHE", "IAM_USER_CACHE", "IAM_GROUP_CACHE"):
        state.update({f"{key}/{f}": v for f, v in redis_client.hgetall(key).items() if f":{victim}:" in f})
    s3 = boto3.client("s3", endpoint_url=demo_org.endpoint_url)
    for obj in s3.list_objects_v2(Bucket=demo_org.cache_bucket).get("Contents", []):
        if f"_{victim}_" in obj["Key"]:
            state[obj["Key"]] = s3.get_object(Bucket=demo_org.cache_bucket, Key=obj["Key"])["Body"].read()
    return state


def test_access_denied_in_one_account_keeps_its_cache(fault_env, proxy, refresh, redis_client, demo_org):
    victim, other = demo_org.member_account_ids[0], demo_org.member_account_ids[1]
    assert refresh(["aws_accounts", *PER_ACCOUNT]) == []
    before = _victim_state(redis_client, demo_org, victim)
    assert len(before) > 10
    for account in (victim, other):  # AWS changes in both; only the reachable one may show it
        member_client(demo_org, account, "s3").create_bucket(Bucket=f"new-{account}")

    with proxy.injecting("access_denied", action="AssumeRole", params={"RoleArn": demo_org.role_arn(victim)}):
        failures = refresh(PER_ACCOUNT)
    assert len(failures) == len(PER_ACCOUNT)
    for line in failures:
        assert f"accounts {victim}:" in line and "AssumeRole: AccessDenied" in line, line
    assert _victim_state(redis_client, demo_org, victim) == before
    assert f"new-{other}" in redis_client.hget("S3_BUCKETS", other)

    # A list call refused inside the account (the role is assumed fine) fails just that dataset's account.
    with proxy.injecting("access_denied", action="ListBuckets", account=victim):
        failures = refresh(["s3_buckets"])
    assert failures and f"accounts {victim}: " in failures[0] and "ListBuckets: AccessDenied" in failures[0]
    assert redis_client.hget("S3_BUCKETS", victim) == before["S3_BUCKETS"]


def test_one_region_failing_keeps_that_region_and_names_it(
    few_retries, proxy, refresh, redis_client, demo_org, instance
):
    account = demo_org.member_account_ids[0]
    assert refresh(["aws_accounts", "sqs_queues", "sns_topics", "aws_config_resources"]) == []
    before = {key: set(redis_client.hget(key, account).strip("[]").split(", ")) for key in ("SQS_QUEUES", "SNS_TOPICS")}
    west = member_client(demo_org, account, "sqs", "us-west-2")
    west.create_queue(QueueName="hidden-west")
    member_client(demo_org, account, "sqs").create_queue(QueueName="visible-east")
    for service in ("sqs", "sns", "config"):
        proxy.inject("server_error", service=service, region="us-west-2")
    assert refresh(["sqs_queues", "sns_topics", "aws_config_resources"]) == []  # a region is not an account failure
    queues = redis_client.hget("SQS_QUEUES", account)
    assert f"arn:aws:sqs:us-east-1:{account}:visible-east" in queues
    assert "hidden-west" not in queues  # the failed region kept its cached ARNs, no more, no fewer
    assert all(arn.strip('"') in queues for arn in before["SQS_QUEUES"] if ":us-west-2:" in arn)
    assert all(
        arn.strip('"') in redis_client.hget("SNS_TOPICS", account)
        for arn in before["SNS_TOPICS"]
        if ":us-west-2:" in arn
    )
    named = [r.event_log_entry for r in instance.get_records_for_run(instance.get_runs()[0].run_id).records]
    text = " ".join(e.user_message for e in named if e.user_message)
    assert f"account {account}: sqs_queues in us-west-2 not refreshed" in text
    assert "us-west-2" in str(_materialization_metadata(instance, "aws_config_resources", account))


def _materialization_metadata(instance, asset, partition):
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization.metadata if records else event


def test_s3_unavailable_redis_lands_and_next_run_repairs(few_retries, proxy, refresh, redis_client, demo_org, moto):
    account = demo_org.member_account_ids[0]
    assert refresh(["aws_accounts", "s3_buckets"]) == []
    member_client(demo_org, account, "s3").create_bucket(Bucket="arrives-during-outage")
    with proxy.injecting("server_error", service="s3", action="PutObject"):
        failures = refresh(["s3_buckets"])
    assert failures and "PutObject: InternalError" in failures[0], failures
    assert "arrives-during-outage" in redis_client.hget("S3_BUCKETS", account)  # Redis got the data
    key = f"account_resource_cache/cache_s3_buckets_{account}_v1.json.gz"
    assert "arrives-during-outage" not in s3_snapshot(demo_org.cache_bucket, moto.url)[key]
    assert refresh(["s3_buckets"]) == []
    assert "arrives-during-outage" in s3_snapshot(demo_org.cache_bucket, moto.url)[key]
