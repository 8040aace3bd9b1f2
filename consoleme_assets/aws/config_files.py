"""ConsoleMe's remote config files: `extends: [AWS_S3:s3://bucket/key]` and `AWS_SECRETS_MANAGER:<name>`
(the settings loader calls this reader; it never calls AWS itself)."""

from __future__ import annotations

import os

import boto3


def read_remote_config(source: str) -> str:
    """The text of a remote `extends:` entry, on the process's default credentials (as ConsoleMe read them)."""
    if source.startswith("AWS_SECRETS_MANAGER:"):
        name = source.split(":", 1)[1]
        region = os.environ.get("EC2_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=name)["SecretString"]
    if source.startswith("AWS_S3:s3://"):
        bucket, _, key = source.split("AWS_S3:s3://", 1)[1].partition("/")
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    raise ValueError(f"not a remote config source: {source!r} (AWS_S3:s3://bucket/key or AWS_SECRETS_MANAGER:name)")
