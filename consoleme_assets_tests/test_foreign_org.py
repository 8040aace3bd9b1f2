"""The "Done when" of the dataset issues, as a newcomer checks it: a stock moto server seeded by someone
else with plain boto3 (random account ids, ConsoleMe's tables), our CLI pointed at it by environment only.
Every cache key is filled in ConsoleMe's shapes, and a second refresh after deletions removes them."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from consoleme_assets.sandbox.servers import free_port

TABLES = {  # ConsoleMe's own table layout (scripts/initialize_dynamodb_oss.py)
    "consoleme_iamroles_global": ["arn", "accountId"],
    "consoleme_policy_requests": ["request_id"],
    "consoleme_resource_cache": ["resourceId", "resourceType"],
    "consoleme_cloudtrail": ["arn", "request_id"],
    "consoleme_notifications": ["predictable_id"],
}


@pytest.fixture
def stock_moto():
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                boto3.client("sts", endpoint_url=url).get_caller_identity()
                break
            except Exception:
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait()


def member_clients(url, account_id):
    creds = boto3.client("sts", endpoint_url=url).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/Reader", RoleSessionName="seed"
    )["Credentials"]
    kw = dict(
        endpoint_url=url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return lambda service, region="us-east-1": boto3.client(service, region_name=region, **kw)


def seed(url):
    org = boto3.client("organizations", endpoint_url=url)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="theirs", Email="theirs@example.org")["CreateAccountStatus"]["AccountId"]
    aws = member_clients(url, member)
    iam = aws("iam")
    role = iam.create_role(
        RoleName="app",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Tags=[
            {"Key": "consoleme-authorized", "Value": "team@example.org"},
            {"Key": "owner", "Value": "team@example.org"},
        ],
    )["Role"]["Arn"]
    kept = iam.create_role(
        RoleName="kept",
        AssumeRolePolicyDocument="{}",
        Tags=[{"Key": "consoleme-authorized", "Value": "team@example.org"}],
    )["Role"]["Arn"]
    user = iam.create_user(UserName="alice")["User"]["Arn"]
    group = iam.create_group(GroupName="devs")["Group"]["Arn"]
    policy = iam.create_policy(
        PolicyName="mine",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    aws("s3").create_bucket(Bucket="their-bucket")
    queue = aws("sqs", "us-west-2").create_queue(QueueName="their-queue")["QueueUrl"]
    topic = aws("sns").create_topic(Name="their-topic")["TopicArn"]
    hub = lambda service: boto3.client(service, endpoint_url=url)  # noqa: E731
    hub("s3").create_bucket(Bucket="their-cache")
    ddb = hub("dynamodb")
    for name, keys in TABLES.items():
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ["HASH", "RANGE"], strict=False)],
        )
    ddb.put_item(
        TableName="consoleme_policy_requests",
        Item={
            "request_id": {"S": "r-1"},
            "arn": {"S": role},
            "status": {"S": "pending"},
            "request_time": {"N": "1700000000"},
            "username": {"S": "alice@example.org"},
            "version": {"S": "2"},
            "principal": {"M": {"principal_type": {"S": "AwsResource"}, "principal_arn": {"S": role}}},
        },
    )
    return dict(
        member=member,
        role=role,
        kept=kept,
        user=user,
        group=group,
        policy=policy,
        queue=f"arn:aws:sqs:us-west-2:{member}:their-queue",
        queue_url=queue,
        topic=topic,
        aws=aws,
    )


def refresh(env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "consoleme_assets.cli", "refresh"],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_refresh_fills_every_key_and_follows_deletions(stock_moto, aws_env, redis_client, tmp_path):
    them = seed(stock_moto)
    member = them["member"]
    cfg = tmp_path / "their.yaml"
    cfg.write_text(
        "policies: {role_name: Reader}\nconsoleme_s3_bucket: their-cache\n"
        "cache_cloud_accounts: {from_aws_organizations: true}\n"
        "cache_accounts_from_aws_organizations: [{organizations_master_account_id: '123456789012'}]\n"
        "celery: {sync_regions: [us-east-1, us-west-2]}\naws: {tags: {owner: owner}}\n"
        "aws_config: {available_regions: [us-east-1]}\n"
        "cloud_credential_authorization_mapping: {role_tags: {authorized_groups_tags: [consoleme-authorized]}}\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    env = {**aws_env, "AWS_ENDPOINT_URL": stock_moto, "CONSOLEME_ASSETS_CONFIG": str(cfg), "DAGSTER_HOME": str(home)}
    proc = refresh(env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = redis_client
    hub = "123456789012"
    accounts = json.loads(r.get("ALL_AWS_ACCOUNTS"))["accounts"]
    assert sorted(a["id"] for a in accounts) == sorted([hub, member])
    assert json.loads(r.hget("S3_BUCKETS", member)) == ["their-bucket"]
    assert json.loads(r.hget("SQS_QUEUES", member)) == [them["queue"]]
    assert json.loads(r.hget("SNS_TOPICS", member)) == [them["topic"]]
    assert them["policy"] in json.loads(r.hget("IAM_MANAGED_POLICIES", member))
    role_entry = json.loads(r.hget("IAM_ROLE_CACHE", them["role"]))
    assert role_entry["owner"] == "team@example.org" and role_entry["accountId"] == member
    assert r.hexists("IAM_USER_CACHE", them["user"]) and r.hexists("IAM_GROUP_CACHE", them["group"])
    assert r.hexists("IAM_POLICY_CACHE", them["policy"])
    rows = {(row["technology"], row["arn"]) for row in json.loads(r.get("ALL_POLICIES"))}
    member_rows = {row for row in rows if member in row[1] or row[1] == "arn:aws:s3:::their-bucket"}
    assert member_rows == {  # exactly one row per resource of the member account
        *(("AWS::IAM::Role", role["Arn"]) for role in them["aws"]("iam").list_roles()["Roles"]),
        ("AWS::IAM::User", them["user"]),
        ("AWS::S3::Bucket", "arn:aws:s3:::their-bucket"),
        ("AWS::SQS::Queue", them["queue"]),
        ("AWS::SNS::Topic", them["topic"]),
        ("managed_policy", them["policy"]),
    }
    assert len(json.loads(r.get("ALL_POLICIES"))) == len(rows)  # no duplicate rows
    assert {
        ("AWS::IAM::Role", them["role"]),
        ("AWS::IAM::User", them["user"]),
        ("AWS::S3::Bucket", "arn:aws:s3:::their-bucket"),
        ("AWS::SQS::Queue", them["queue"]),
        ("AWS::SNS::Topic", them["topic"]),
        ("managed_policy", them["policy"]),
    } <= rows
    assert [x["request_id"] for x in json.loads(r.get("ALL_POLICY_REQUESTS"))] == ["r-1"]
    mapping = json.loads(r.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1"))
    assert mapping["team@example.org"]["authorized_roles"] == sorted([them["role"], them["kept"]])
    assert json.loads(r.get("REVERSE_AUTHORIZATION_MAPPING_V1"))[them["role"].lower()] == ["team@example.org"]
    assert hub in json.loads(r.get("ALL_AWS_SCPS")) and json.loads(r.get("AWS_ORG_STRUCTURE"))
    assert json.loads(r.get("CLOUDTRAIL_ERRORS_BY_ARN")) == {}

    aws = them["aws"]
    aws("s3").delete_bucket(Bucket="their-bucket")
    aws("sqs", "us-west-2").delete_queue(QueueUrl=them["queue_url"])
    aws("sns").delete_topic(TopicArn=them["topic"])
    aws("iam").delete_role(RoleName="app")
    proc = refresh(env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(r.hget("S3_BUCKETS", member)) == []
    assert json.loads(r.hget("SQS_QUEUES", member)) == []
    assert json.loads(r.hget("SNS_TOPICS", member)) == []
    assert not r.hexists("IAM_ROLE_CACHE", them["role"])
    rows = {row["arn"] for row in json.loads(r.get("ALL_POLICIES"))}
    assert them["role"] not in rows and them["topic"] not in rows
    mapping = json.loads(r.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1"))
    assert mapping["team@example.org"]["authorized_roles"] == [them["kept"]]
