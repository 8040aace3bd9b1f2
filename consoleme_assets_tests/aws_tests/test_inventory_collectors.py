"""Inventory collectors against the seeded moto server: managed policies, SQS, SNS, enabled regions."""

import boto3
import pytest
from botocore.stub import Stubber

from consoleme_assets.aws import inventory
from consoleme_assets.aws.inventory import (
    RegionDiscoveryError,
    carry_over_failed_regions,
    enabled_regions,
    managed_policy_arns,
    region_of_arn,
    sns_topic_arns,
    sqs_queue_arns,
)
from consoleme_assets.aws.regions import AllRegionsFailed
from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.settings import load_settings

BOTH = ["us-east-1", "us-west-2"]


ACCOUNT = "111122223333"  # for stubbed calls: no seeded organisation needed


def sessions_for(tmp_path, aws_env, extra="", spoke_role=True):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(("policies: {role_name: ConsoleMe}\n" if spoke_role else "") + extra)
    return AwsSessions(load_settings(cfg, env=aws_env))


def member_client(demo_org, account_id, service, region="us-east-1"):
    """A client in the member account made without the code under test."""
    role_arn = demo_org.role_arn(account_id)
    creds = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def count_calls(client, operation):
    calls = []
    client.meta.events.register(
        f"before-parameter-build.{client.meta.service_model.endpoint_prefix}.{operation}",
        lambda params, **kw: calls.append(dict(params)),
    )
    return calls


def test_managed_policies_are_aws_and_local_read_over_many_pages(tmp_path, aws_env, demo_org, monkeypatch):
    monkeypatch.setattr(inventory, "PAGE_SIZE", 2)
    sessions = sessions_for(tmp_path, aws_env)
    for account_id in demo_org.accounts:
        calls = count_calls(sessions.client("iam", account_id=account_id), "ListPolicies")
        iam = member_client(demo_org, account_id, "iam")
        aws_managed = [p["Arn"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]]
        expected = sorted(demo_org.managed_policies[account_id] + aws_managed)

        assert managed_policy_arns(sessions, account_id) == expected
        assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in expected and len(demo_org.managed_policies[account_id]) == 3
        assert len(calls) == -(-len(expected) // 2) > 1  # every page, two policies each
        assert all(c["MaxItems"] == 2 and "Scope" not in c for c in calls)


def test_queues_and_topics_in_both_regions(tmp_path, aws_env, demo_org):
    sessions = sessions_for(tmp_path, aws_env)
    for account_id in demo_org.accounts:
        queues = sqs_queue_arns(sessions, account_id, BOTH)
        topics = sns_topic_arns(sessions, account_id, BOTH)
        assert queues.items == demo_org.queues[account_id]
        assert topics.items == demo_org.topics[account_id]
        for listing in (queues, topics):
            assert listing.account_id == account_id
            assert listing.regions_read == BOTH and listing.regions_failed == {} and listing.carried_over == {}
    prod = demo_org.member_account_ids[0]
    assert {region_of_arn(a) for a in demo_org.queues[prod]} == set(BOTH)  # the seed really spans regions


def test_sqs_reads_every_page(tmp_path, aws_env, demo_org, monkeypatch):
    monkeypatch.setattr(inventory, "PAGE_SIZE", 2)
    sessions = sessions_for(tmp_path, aws_env)
    account_id = demo_org.member_account_ids[1]
    sqs = member_client(demo_org, account_id, "sqs", "us-west-2")
    added = [f"arn:aws:sqs:us-west-2:{account_id}:extra-{i}" for i in range(4)]
    for arn in added:
        sqs.create_queue(QueueName=arn.rsplit(":", 1)[-1])
    calls = count_calls(sessions.client("sqs", account_id=account_id, region="us-west-2"), "ListQueues")

    listing = sqs_queue_arns(sessions, account_id, BOTH)
    assert listing.items == sorted(demo_org.queues[account_id] + added)
    assert len(calls) == 3 and all(c["MaxResults"] == 2 for c in calls)  # 5 queues in us-west-2


def test_sns_reads_every_page(tmp_path, aws_env, demo_org):
    # ListTopics has no page size; AWS (and moto) serve 100 topics a page.
    sessions = sessions_for(tmp_path, aws_env)
    account_id = demo_org.member_account_ids[2]
    sns = member_client(demo_org, account_id, "sns", "us-west-2")
    added = [sns.create_topic(Name=f"bulk-{i:03d}")["TopicArn"] for i in range(105)]
    calls = count_calls(sessions.client("sns", account_id=account_id, region="us-west-2"), "ListTopics")

    listing = sns_topic_arns(sessions, account_id, BOTH)
    assert listing.items == sorted(demo_org.topics[account_id] + added)
    assert len(calls) == 2 and calls[1]["NextToken"]


def test_enabled_regions_precedence(tmp_path, aws_env, demo_org):
    first, second, third = demo_org.member_account_ids
    sessions = sessions_for(
        tmp_path,
        aws_env,
        (
            f"get_enabled_regions_for_account:\n  '{first}': [eu-west-1]\n  '{third}': []\n"
            "celery: {sync_regions: [us-east-1, us-west-2, us-east-1]}\n"
        ),
    )
    calls = count_calls(sessions.client("ec2", account_id=first), "DescribeRegions")
    assert enabled_regions(sessions.settings, sessions, first) == ["eu-west-1"]
    assert enabled_regions(sessions.settings, sessions, second) == BOTH  # repeats dropped
    assert enabled_regions(sessions.settings, sessions, third) == BOTH  # an empty list counts as unset
    assert calls == []


def test_enabled_regions_from_describe_regions(tmp_path, aws_env, demo_org):
    sessions = sessions_for(tmp_path, aws_env)
    account_id = demo_org.member_account_ids[0]
    calls = count_calls(sessions.client("ec2", account_id=account_id), "DescribeRegions")

    regions = enabled_regions(sessions.settings, sessions, account_id)
    assert len(calls) == 1 and "AllRegions" not in calls[0]
    assert set(BOTH) | {"eu-west-1", "ap-northeast-1"} <= set(regions) and regions == sorted(regions)
    # moto lists opt-in regions (not-opted-in) and other partitions' regions; neither is reachable here
    assert not {"ap-east-1", "me-south-1", "us-gov-west-1", "cn-north-1"} & set(regions)
    assert sessions.client("ec2", account_id=account_id).meta.region_name == "us-east-1"


def test_describe_regions_refused_names_the_account(tmp_path, aws_env):
    sessions = sessions_for(tmp_path, aws_env, spoke_role=False)
    account_id = ACCOUNT
    with Stubber(sessions.client("ec2", account_id=account_id)) as stub:
        stub.add_client_error("describe_regions", "UnauthorizedOperation", "not allowed")
        with pytest.raises(RegionDiscoveryError) as err:
            enabled_regions(sessions.settings, sessions, account_id)
    assert str(err.value) == (
        f"account {account_id}: cannot list enabled regions (EC2 DescribeRegions in "
        "us-east-1): DescribeRegions: UnauthorizedOperation: not allowed"
    )


def test_a_failing_region_is_skipped_and_named(tmp_path, aws_env, demo_org):
    sessions = sessions_for(tmp_path, aws_env)
    account_id = demo_org.member_account_ids[0]
    with Stubber(sessions.client("sqs", account_id=account_id, region="us-west-2")) as stub:
        stub.add_client_error("list_queues", "AccessDenied", "denied in us-west-2")
        listing = sqs_queue_arns(sessions, account_id, BOTH)
    assert listing.items == [a for a in demo_org.queues[account_id] if ":us-east-1:" in a]
    assert listing.regions_read == ["us-east-1"]
    assert listing.regions_failed == {"us-west-2": "ListQueues: AccessDenied: denied in us-west-2"}


def test_every_region_failing_fails_the_account(tmp_path, aws_env):
    sessions = sessions_for(tmp_path, aws_env, spoke_role=False)
    account_id = ACCOUNT
    stubs = [Stubber(sessions.client("sns", account_id=account_id, region=r)) for r in BOTH]
    for stub in stubs:
        stub.add_client_error("list_topics", "Throttling", "slow down")
        stub.activate()
    with pytest.raises(AllRegionsFailed) as err:
        sns_topic_arns(sessions, account_id, BOTH)
    assert err.value.account_id == account_id
    assert err.value.failed == {r: "ListTopics: Throttling: slow down" for r in BOTH}
    assert str(err.value) == (
        f"account {account_id}: listing SNS topics failed in every region (us-east-1: "
        "ListTopics: Throttling: slow down; us-west-2: ListTopics: Throttling: slow down)"
    )


def test_no_regions_is_an_empty_listing_not_a_failure(tmp_path, aws_env):
    listing = sqs_queue_arns(sessions_for(tmp_path, aws_env, spoke_role=False), ACCOUNT, [])
    assert listing.items == [] and listing.regions_read == [] and listing.regions_failed == {}


def test_carry_over_keeps_only_the_failed_regions_previous_arns():
    east_new = "arn:aws:sqs:us-east-1:111122223333:new"
    east_old = "arn:aws:sqs:us-east-1:111122223333:deleted"
    west = ["arn:aws:sqs:us-west-2:111122223333:a", "arn:aws:sqs:us-west-2:111122223333:b"]
    items, counts = carry_over_failed_regions([east_new], [east_old, *west], ["us-west-2", "eu-west-1"])
    assert items == sorted([east_new, *west])  # east was read: its deleted queue stays deleted
    assert counts == {"eu-west-1": 0, "us-west-2": 2}
    assert carry_over_failed_regions([east_new], [east_new], ["us-east-1"]) == ([east_new], {"us-east-1": 0})
    assert carry_over_failed_regions([], [], []) == ([], {})


def test_listing_carrying_over():
    listing = inventory.RegionalListing(
        "111122223333",
        ["arn:aws:sns:us-east-1:111122223333:t"],
        ["us-east-1"],
        {"us-west-2": "ListTopics: Throttling: slow down"},
    )
    carried = listing.carrying_over(["arn:aws:sns:us-west-2:111122223333:t", "not-an-arn"])
    assert carried.items == ["arn:aws:sns:us-east-1:111122223333:t", "arn:aws:sns:us-west-2:111122223333:t"]
    assert carried.carried_over == {"us-west-2": 1} and carried.regions_failed == listing.regions_failed


def test_region_of_arn():
    assert region_of_arn("arn:aws:sqs:eu-west-1:111122223333:q") == "eu-west-1"
    assert region_of_arn("arn:aws-us-gov:sns:us-gov-west-1:111122223333:t:with:colons") == "us-gov-west-1"
    assert region_of_arn("bucket-name") == ""


def test_partition_of_unknown_region_is_none(tmp_path, aws_env):
    sessions = sessions_for(tmp_path, aws_env, spoke_role=False)
    assert inventory.partition_of(sessions, "us-gov-west-1") == "aws-us-gov"
    assert inventory.partition_of(sessions, "xx-nowhere-9") is None
