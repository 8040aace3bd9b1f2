import boto3
import dagster as dg
import pytest

from consoleme_assets_tests.catalog import aws_accounts, iam_resources
from consoleme_assets_tests.fixtures import all_accounts_tags  # noqa: F401 (re-exported)


@pytest.fixture
def accounts_ready(sandbox_env, instance, resources):
    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success


@pytest.fixture
def refresh_iam(instance, resources):
    def run(resources=resources, **kwargs):
        if "partition_key" not in kwargs:
            kwargs.setdefault("tags", all_accounts_tags(instance))
        return dg.materialize(
            [aws_accounts, iam_resources],
            selection=[iam_resources],
            instance=instance,
            resources=resources,
            raise_on_error=False,
            **kwargs,
        )

    return run


@pytest.fixture
def member_client(demo_org):
    def client(account_id, service, region="us-east-1"):
        creds = boto3.client("sts").assume_role(RoleArn=demo_org.role_arn(account_id), RoleSessionName="test")[
            "Credentials"
        ]
        return boto3.client(
            service,
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return client
