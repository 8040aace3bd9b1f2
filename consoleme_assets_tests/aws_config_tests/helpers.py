"""Helpers for the aws_config_resources tests: settings variants over the sandbox config, injected AWS Config rows."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import yaml
from botocore.exceptions import ClientError

from consoleme_assets.aws_config.source import AwsConfigSource
from consoleme_assets.definitions import build_resources
from consoleme_assets.sandbox import SANDBOX_CONFIG
from consoleme_assets_tests.catalog import aws_accounts, aws_config_resources
from consoleme_assets_tests.fixtures import all_accounts_tags  # noqa: F401 (re-exported)

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
TABLE = "consoleme_resource_cache"


@pytest.fixture
def use_config(sandbox_env, monkeypatch, tmp_path) -> Callable[[dict[str, Any]], Path]:
    """Point CONSOLEME_ASSETS_CONFIG at a file that extends the sandbox config with `extra` (it wins)."""

    def write(extra: dict[str, Any]) -> Path:
        path = tmp_path / f"config-{len(list(tmp_path.glob('config-*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump({"extends": [str(SANDBOX_CONFIG)], **extra}))
        monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(path))
        return path

    write({"aws_config": {"available_regions": REGIONS}})
    return write


@pytest.fixture
def accounts_ready(use_config, instance) -> list[str]:
    assert dg.materialize([aws_accounts], instance=instance, resources=build_resources()).success
    return instance.get_dynamic_partitions("aws_accounts")


def injected_source(
    rows: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
    fail: dict[tuple[str, str], str] | None = None,
    calls: list[tuple[str, str]] | None = None,
) -> AwsConfigSource:
    """The real AwsConfigSource (regions, pool, spoke-role clients) with each region's answer chosen here:
    rows[(account, region)], or a ClientError with code fail[(account, region)]."""
    rows, fail = rows or {}, fail or {}
    seen = calls if calls is not None else []

    class InjectedSource(AwsConfigSource):
        def select_region(self, client, account_id, region, expression):
            assert expression == f"select * where accountId = '{account_id}'"
            seen.append((account_id, region))
            if (account_id, region) in fail:
                raise ClientError(
                    {"Error": {"Code": fail[(account_id, region)], "Message": f"no {region}"}}, "SelectResourceConfig"
                )
            return copy.deepcopy(rows.get((account_id, region), []))

    return InjectedSource()


class RefusingSource(AwsConfigSource):
    """Fails any account it is asked about (replica regions and disabled accounts must not ask)."""

    def select(self, sessions, settings, account_id):
        raise AssertionError(f"AWS Config queried for {account_id}")


def resources_with(source: AwsConfigSource) -> dict[str, Any]:
    res = build_resources()
    return {**res, "aws_config_source": source}


def refresh(instance, source: AwsConfigSource, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [aws_accounts, aws_config_resources],
        selection=[aws_config_resources],
        instance=instance,
        resources=resources_with(source),
        raise_on_error=False,
        **kwargs,
    )


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetMaterialization]:
    return {
        e.event_specific_data.materialization.partition: e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
    }


def config_row(account_id: str, region: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    """A SelectResourceConfig row shaped like AWS's (`select *`)."""
    arns = {
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account_id}:{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{account_id}:role/{name}",
    }
    return {
        "version": "1.3",
        "accountId": account_id,
        "configurationItemCaptureTime": "2026-01-01T00:00:00.000Z",
        "configurationItemStatus": "OK",
        "arn": arns[kind],
        "resourceType": kind,
        "resourceId": f"id-{name}",
        "resourceName": name,
        "awsRegion": "global" if kind == "AWS::IAM::Role" else region,
        "tags": [],
        "relationships": [],
        "configuration": {"name": name},
        "supplementaryConfiguration": {},
        **extra,
    }


def dynamo_table():
    return boto3.resource("dynamodb").Table(TABLE)


def dynamo_ids(account_id: str | None = None) -> set[str]:
    items = dynamo_table().scan()["Items"]
    return {i["resourceId"] for i in items if account_id is None or i.get("accountId") == account_id}
