"""The AWS Config collector: regions, pagination, per-region failures (no Dagster run)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from consoleme_assets.aws.config_resources import (
    AwsConfigQueryError,
    config_regions,
    render_query,
    select_all,
)
from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.aws_config.source import AwsConfigSource
from consoleme_assets.settings import load_settings

from .helpers import REGIONS


class PagedClient:
    def __init__(self, pages):
        self.pages, self.calls = pages, []

    def select_resource_config(self, **kwargs):
        self.calls.append(kwargs)
        return self.pages[len(self.calls) - 1]


def test_select_all_follows_next_token():
    client = PagedClient(
        [
            {"Results": [json.dumps({"arn": "a"})], "NextToken": "t1"},
            {"Results": [json.dumps({"arn": "b"}), json.dumps({"arn": "c"})]},
        ]
    )
    assert [r["arn"] for r in select_all(client, "select *")] == ["a", "b", "c"]
    assert client.calls == [
        {"Expression": "select *", "Limit": 100},
        {"Expression": "select *", "Limit": 100, "NextToken": "t1"},
    ]


def test_select_all_refuses_a_repeated_token():
    client = PagedClient([{"Results": [], "NextToken": "same"}, {"Results": [], "NextToken": "same"}])
    with pytest.raises(AwsConfigQueryError, match="same NextToken twice"):
        select_all(client, "select *")


def test_regions_configured_or_boto3s_minus_exclusions(use_config):
    settings = load_settings()
    assert config_regions(settings) == REGIONS
    use_config({"aws_config": {"available_regions": ["us-east-1", "ap-east-1"]}})
    assert config_regions(load_settings()) == ["us-east-1"]  # ap-east-1 is a default exclusion
    use_config({"aws_config": {"available_regions": []}, "api_protect": {"exclude_regions": ["us-west-2"]}})
    regions = config_regions(load_settings(), available=["us-east-1", "us-west-2", "ap-east-1"])
    assert regions == ["us-east-1", "ap-east-1"]


def test_query_with_stray_braces_names_the_key(use_config):
    use_config({"cache_all_resources_from_aws_config": {"aws_config": {"all_resources_query": "select {x}"}}})
    with pytest.raises(ValueError, match="all_resources_query: cannot fill in the query .* for account 1"):
        render_query(load_settings(), "1")


def test_a_malformed_answer_fails_the_account_naming_the_region(use_config, demo_org):
    class Broken(AwsConfigSource):
        def select_region(self, client, account_id, region, expression):
            if region == "us-west-2":
                raise json.JSONDecodeError("Expecting value", "<", 0)
            return []

    settings = load_settings()
    account_id = demo_org.member_account_ids[0]
    with pytest.raises(RuntimeError, match=f"account {account_id}, region us-west-2: JSONDecodeError"):
        Broken().select(AwsSessions(settings), settings, account_id)


def test_denied_regions_are_reported_not_raised(use_config, demo_org):
    class Denied(AwsConfigSource):
        def select_region(self, client, account_id, region, expression):
            if region != "us-east-1":
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SelectResourceConfig")
            return [{"arn": f"arn:{region}"}]

    settings = load_settings()
    selection = Denied(max_concurrent_regions=2).select(AwsSessions(settings), settings, demo_org.member_account_ids[0])
    assert selection.rows == [{"arn": "arn:us-east-1"}] and selection.regions_read == ["us-east-1"]
    assert selection.regions_failed == {r: "SelectResourceConfig: AccessDenied: no" for r in ("eu-west-1", "us-west-2")}


def test_no_region_left_is_an_error(use_config, demo_org):
    use_config({"aws_config": {"available_regions": ["ap-east-1"]}})
    settings = load_settings()
    with pytest.raises(AwsConfigQueryError, match="no region left to query"):
        AwsConfigSource().select(AwsSessions(settings), settings, demo_org.member_account_ids[0])
