"""The seeded demo organisation, checked through moto's HTTP API the way ConsoleMe's hub reads it."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import boto3
import pytest

from consoleme_assets.sandbox import DemoOrg, DemoOrgAlreadySeeded, MotoServer, seed_demo_org
from consoleme_assets.sandbox.moto_process import account_id_for_email


def _client(demo: DemoOrg, service: str, account_id: str, role: str | None = None, region: str | None = None) -> Any:
    """A client acting as ``role`` (default: the spoke role) in ``account_id``, via STS from the hub."""
    hub = dict(endpoint_url=demo.endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing")
    sts = boto3.client("sts", region_name=demo.region, **hub)
    creds = sts.assume_role(RoleArn=demo.role_arn(account_id, role), RoleSessionName="sandbox-test")["Credentials"]
    return boto3.client(
        service,
        region_name=region or demo.region,
        endpoint_url=demo.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_seed_is_deterministic_and_fast(moto: MotoServer) -> None:
    started = time.perf_counter()
    first = seed_demo_org(moto.url)
    elapsed = time.perf_counter() - started
    print(f"seed_demo_org took {elapsed:.2f} s")

    moto.reset()
    second = seed_demo_org(moto.url)

    def comparable(demo: DemoOrg) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(demo).items() if k != "organization_id"}  # o-… is random

    assert comparable(first) == comparable(second)
    assert first.cache_bucket in first.buckets[first.management_account_id]


def test_account_ids_derive_from_emails(demo_org: DemoOrg) -> None:
    by_name = {name: account_id for account_id, name in {**demo_org.accounts, **demo_org.closed_accounts}.items()}
    assert by_name["demo-prod"] == account_id_for_email("aws-demo-prod@example.com")
    assert by_name["demo-retired"] == account_id_for_email("AWS-Demo-Retired@example.com")
    assert account_id_for_email("x@example.com", taken={account_id_for_email("x@example.com")}) != (
        account_id_for_email("x@example.com")
    )


def test_org_reader_lists_members_management_and_the_closed_account(demo_org: DemoOrg) -> None:
    organizations = _client(demo_org, "organizations", demo_org.management_account_id, demo_org.org_role_name)
    accounts = organizations.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]
    status = {a["Id"]: a["Status"] for a in accounts}

    active = {account_id for account_id, s in status.items() if s == "ACTIVE"}
    assert active == set(demo_org.accounts)
    assert demo_org.management_account_id in active
    assert sorted(demo_org.accounts[a] for a in demo_org.member_account_ids) == [
        "demo-prod",
        "demo-sandbox",
        "demo-staging",
    ]
    assert list(demo_org.closed_accounts.values()) == ["demo-retired"]
    assert {status[a] for a in demo_org.closed_accounts} == {"SUSPENDED"}


def test_resources_live_in_their_own_accounts(demo_org: DemoOrg) -> None:
    for account_id in demo_org.accounts:
        s3 = _client(demo_org, "s3", account_id)
        assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == demo_org.buckets[account_id]

        iam = _client(demo_org, "iam", account_id)
        roles = iam.get_paginator("list_roles").paginate().build_full_result()["Roles"]
        assert sorted(r["Arn"] for r in roles) == demo_org.roles[account_id]
        assert iam.list_account_aliases()["AccountAliases"] == [demo_org.aliases[account_id]]

        queues, topics = [], []
        for region in demo_org.regions:
            sqs = _client(demo_org, "sqs", account_id, region=region)
            for url in sqs.list_queues().get("QueueUrls", []):
                queues.append(f"arn:aws:sqs:{region}:{account_id}:{url.rsplit('/', 1)[-1]}")
            sns = _client(demo_org, "sns", account_id, region=region)
            topics += [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        assert sorted(queues) == demo_org.queues[account_id]
        assert sorted(topics) == demo_org.topics[account_id]
        assert {arn.split(":")[3] for arn in queues} == set(demo_org.regions)

    member_bucket_counts = [len(demo_org.buckets[a]) for a in demo_org.member_account_ids]
    assert sorted(member_bucket_counts) == [1, 2, 3]


def test_roles_have_consoleme_tags_paths_and_policies(demo_org: DemoOrg) -> None:
    prod = next(a for a, name in demo_org.accounts.items() if name == "demo-prod")
    iam = _client(demo_org, "iam", prod)
    details = iam.get_paginator("get_account_authorization_details").paginate().build_full_result()
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}

    app = roles["demo-app"]
    tags = {t["Key"]: t["Value"] for t in app["Tags"]}
    assert tags["owner"] == "team-x@example.com"
    assert tags["consoleme-authorized"] == "groupa@example.com:groupb@example.com"
    assert [p["PolicyName"] for p in app["RolePolicyList"]] == ["app-logs"]
    attached = {p["PolicyArn"] for p in app["AttachedManagedPolicies"]}
    assert attached == {"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", f"arn:aws:iam::{prod}:policy/demo-app-policy"}
    assert roles["demo-worker"]["Path"] == "/service/"

    spoke_trust = roles[demo_org.spoke_role_name]["AssumeRolePolicyDocument"]
    spoke_trust = json.loads(spoke_trust) if isinstance(spoke_trust, str) else spoke_trust
    assert spoke_trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{demo_org.management_account_id}:root"}

    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert sorted(users["bob"]["GroupList"]) == ["auditors", "developers"]
    assert users["bob"]["UserPolicyList"][0]["PolicyName"] == "bob-home"
    assert sorted(g["Arn"] for g in details["GroupDetailList"]) == demo_org.groups[prod]
    customer = iam.list_policies(Scope="Local")["Policies"]
    assert sorted(p["Arn"] for p in customer) == demo_org.managed_policies[prod]


def test_hub_has_cache_bucket_tables_and_policy_requests(demo_org: DemoOrg) -> None:
    hub = demo_org.management_account_id
    _client(demo_org, "s3", hub).head_bucket(Bucket=demo_org.cache_bucket)

    dynamodb = _client(demo_org, "dynamodb", hub)
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(demo_org.dynamodb_tables)

    def keys(table: str) -> list[str]:
        return [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]

    assert keys("consoleme_iamroles_global") == ["arn", "accountId"]
    assert keys("consoleme_resource_cache") == ["resourceId", "resourceType"]
    assert keys("consoleme_cloudtrail") == ["arn", "request_id"]
    requests_table = dynamodb.describe_table(TableName="consoleme_policy_requests")["Table"]
    assert [i["IndexName"] for i in requests_table["GlobalSecondaryIndexes"]] == ["arn-request_id-index"]
    ttl = dynamodb.describe_time_to_live(TableName="consoleme_iamroles_global")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"

    items = (
        boto3.resource(
            "dynamodb",
            region_name=demo_org.region,
            endpoint_url=demo_org.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        .Table("consoleme_policy_requests")
        .scan()["Items"]
    )
    assert sorted(i["request_id"] for i in items) == sorted(demo_org.policy_requests)
    assert sorted(i["status"] for i in items) == ["approved", "pending", "rejected"]
    all_roles = {arn for arns in demo_org.roles.values() for arn in arns}
    for item in items:
        assert item["version"] == "2"
        assert item["principal"]["principal_type"] == "AwsResource"
        assert item["principal"]["principal_arn"] == item["arn"] and item["arn"] in all_roles
        assert item["extended_request"]["id"] == item["request_id"]
        assert item["extended_request"]["request_status"] == item["status"]
        assert item["username"] == item["extended_request"]["requester_email"]
        assert int(item["request_time"]) > 1_700_000_000


def test_seeding_twice_raises_and_changes_nothing(demo_org: DemoOrg) -> None:
    with pytest.raises(DemoOrgAlreadySeeded, match="reset it"):
        seed_demo_org(demo_org.endpoint_url)
    organizations = _client(demo_org, "organizations", demo_org.management_account_id, demo_org.org_role_name)
    assert len(organizations.list_accounts()["Accounts"]) == len(demo_org.accounts) + len(demo_org.closed_accounts)


def test_sandbox_aws_config_holds_the_seeded_resources(sandbox_env, demo_org, instance, redis_client) -> None:
    """`make dev`'s aws_config_resources is not empty: the sandbox's AWS Config answers with what was seeded,
    queried in the sandbox's two regions only."""
    import dagster as dg

    from consoleme_assets.cli.refresh import run_refresh
    from consoleme_assets.definitions import defs
    from consoleme_assets.settings import load_settings

    assert load_settings().aws_config.available_regions == ["us-east-1", "us-west-2"]
    lines: list[str] = []
    assert run_refresh(defs, instance, ["aws_accounts", "aws_config_resources"], None, out=lines.append) == [], lines
    cached = set(redis_client.hkeys("AWSCONFIG_RESOURCE_CACHE"))
    for account in demo_org.member_account_ids:
        assert set(demo_org.queues[account]) | set(demo_org.topics[account]) <= cached, account
        assert demo_org.role_arn(account) in cached, account
        assert {f"arn:aws:s3:::{b}" for b in demo_org.buckets[account]} <= cached, account
    entry = json.loads(
        redis_client.hget("AWSCONFIG_RESOURCE_CACHE", demo_org.queues[demo_org.member_account_ids[0]][0])
    )
    assert entry["resourceType"] == "AWS::SQS::Queue" and isinstance(entry["ttl"], int)
    [materialization] = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("aws_config_resources"), asset_partitions=[demo_org.member_account_ids[0]]
        ),
        limit=1,
    ).records
    assert materialization.asset_materialization.metadata["regions_read"].value == ["us-east-1", "us-west-2"]
