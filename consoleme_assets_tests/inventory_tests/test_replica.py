"""In a replica region the inventory assets hydrate from the primary's S3 copies and never list AWS."""

import json

import pytest

from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.definitions import build_resources
from consoleme_assets.sandbox import SANDBOX_CONFIG
from consoleme_assets_tests.catalog import managed_policies, sns_topics, sqs_queues

from .support import materializations, member_client, refresh

ASSETS = [managed_policies, sqs_queues, sns_topics]
KEYS = {"managed_policies": "IAM_MANAGED_POLICIES", "sqs_queues": "SQS_QUEUES", "sns_topics": "SNS_TOPICS"}


@pytest.fixture
def replica_resources(tmp_path):
    """The sandbox config, run as if in us-east-1 while the primary (active) region is eu-west-1."""
    cfg = tmp_path / "replica.yaml"
    cfg.write_text(f"extends:\n  - {SANDBOX_CONFIG}\ncelery:\n  active_region: eu-west-1\n")
    resources = build_resources(str(cfg))
    assert resources["consoleme"].settings.is_replica and resources["consoleme"].settings.region == "us-east-1"
    return resources


@pytest.fixture
def aws_calls(monkeypatch):
    """Every AWS operation made through AwsSessions from now on: (service, account id or None, operation)."""
    calls: list[tuple[str, str | None, str]] = []
    real_client = AwsSessions.client

    def recording_client(self, service, account_id=None, *args, **kwargs):
        client = real_client(self, service, account_id, *args, **kwargs)
        client.meta.events.register(
            "before-call",
            lambda model, **kw: calls.append((service, account_id, model.name)),
            unique_id=f"test-replica-{id(client)}",
        )
        return client

    monkeypatch.setattr(AwsSessions, "client", recording_client)
    return calls


def delete_some_resources(demo_org, account_id, policy_arn):
    """Change AWS after the primary's run, so only the primary's S3 copies still hold these."""
    sqs = member_client(demo_org, account_id, "sqs", "us-west-2")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    sns = member_client(demo_org, account_id, "sns", "us-west-2")
    for topic in sns.list_topics()["Topics"]:
        sns.delete_topic(TopicArn=topic["TopicArn"])
    member_client(demo_org, account_id, "iam").delete_policy(PolicyArn=policy_arn)


def test_replica_reads_the_primarys_s3_copies_and_makes_no_aws_list_calls(
    accounts_ready, demo_org, instance, resources, replica_resources, redis_client, aws_calls
):
    prod = demo_org.member_account_ids[0]
    policy_arn = member_client(demo_org, prod, "iam").create_policy(
        PolicyName="primary-only",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    assert refresh(ASSETS, instance, resources).success  # the primary region
    primary = {name: redis_client.hgetall(key) for name, key in KEYS.items()}
    assert policy_arn in json.loads(primary["managed_policies"][prod])
    assert any(":us-west-2:" in arn for arn in json.loads(primary["sqs_queues"][prod]))

    delete_some_resources(demo_org, prod, policy_arn)
    redis_client.flushall()  # the replica region has its own Redis
    aws_calls.clear()

    result = refresh(ASSETS, instance, replica_resources)
    assert result.success
    for name, key in KEYS.items():
        assert redis_client.hgetall(key) == primary[name]  # byte for byte, deleted resources included
    # Only the hub read S3 objects: no spoke-role session, no List*/Describe* call, no S3 write.
    assert aws_calls and {(service, account, op) for service, account, op in aws_calls} <= {("s3", None, "GetObject")}
    for name in KEYS:
        by_partition = materializations(result, name)
        assert set(by_partition) == set(demo_org.accounts)
        meta = {k: v.value for k, v in by_partition[prod].metadata.items()}
        assert meta["source"] == "S3 copies of the primary region (replica)"
        assert meta["notes"] == "S3 copy skipped: replica region"
        assert "s3_uris" not in meta and "combined_s3_uris" not in meta
        assert meta["dagster/row_count"] == len(json.loads(primary[name][prod]))
    # Combined files are read once per run, not once per account.
    gets = [op for service, _, op in aws_calls if op == "GetObject"]
    assert len(gets) == 2 + len(demo_org.accounts)  # SQS + SNS combined, one managed-policies file each


def test_replica_account_missing_from_the_primarys_copies_fails_alone(
    accounts_ready, demo_org, instance, resources, replica_resources, redis_client
):
    prod = demo_org.member_account_ids[0]
    assert refresh(ASSETS, instance, resources, partition_key=prod).success  # the primary knows one account
    redis_client.flushall()

    result = refresh([sqs_queues], instance, replica_resources)
    assert not result.success
    assert set(materializations(result, "sqs_queues")) == {prod}
    assert json.loads(redis_client.hget("SQS_QUEUES", prod)) == demo_org.queues[prod]
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    missing = sorted(set(demo_org.accounts) - {prod})
    assert set(failure.metadata["failed_accounts"].value) == set(missing)
    combined = "account_resource_cache/cache_sqs_queues_combined_v1.json.gz"
    assert f"account {missing[0]} is not in the primary region's combined file {combined} yet" in failure.description

    result = refresh([managed_policies], instance, replica_resources)
    failed = result.get_step_failure_events()[0].step_failure_data.user_failure_data.metadata
    assert failed["failed_accounts"].value[missing[0]] == (
        f"LookupError: s3://{demo_org.cache_bucket}/account_resource_cache/"
        f"cache_managed_policies_{missing[0]}_v1.json.gz does not exist"
    )
