"""Helpers shared by the inventory asset tests."""

import boto3
import dagster as dg
from botocore.exceptions import ClientError

from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import aws_accounts
from consoleme_assets_tests.fixtures import all_accounts_tags  # noqa: F401 (re-exported)


def refresh(assets, instance, resources, **kwargs):
    """Materialize `assets` (aws_accounts alongside, not selected); all accounts unless a partition is given."""
    if "partition_key" not in kwargs:
        kwargs.setdefault("tags", all_accounts_tags(instance))
    return dg.materialize(
        [aws_accounts, *assets],
        selection=list(assets),
        instance=instance,
        resources=resources,
        raise_on_error=False,
        **kwargs,
    )


def materializations(result, asset_name: str) -> dict[str, dg.AssetMaterialization]:
    """partition -> the run's materialization of `asset_name`."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key == dg.AssetKey(asset_name):
            out[mat.partition] = mat
    return out


def member_client(demo_org, account_id: str, service: str, region: str = "us-east-1"):
    """A client in a demo account made without the code under test (to change AWS behind its back)."""
    role_arn = demo_org.role_arn(account_id)
    creds = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def s3_data(demo_org, key: str):
    """The `data` of one of ConsoleMe's S3 envelopes in the sandbox cache bucket."""
    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=key)["Body"].read()
    return open_envelope(body, gz=key.endswith(".gz"))["data"]


def s3_exists(demo_org, key: str) -> bool:
    try:
        boto3.client("s3").head_object(Bucket=demo_org.cache_bucket, Key=key)
    except ClientError:
        return False
    return True


def client_error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
