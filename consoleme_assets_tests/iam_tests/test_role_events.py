"""Role-change messages -> roles to refresh (spec §5.19), and the §5.20 entry shape: pure, no AWS, no Dagster."""

import datetime as dt
import json

import pytest

from consoleme_assets.aws.sqs import parse_queue_arn
from consoleme_assets.iam import records
from consoleme_assets.iam.role_events import (
    Rejected,
    RoleChange,
    coalesce,
    lag_seconds,
    lag_summary,
    parse_role_change,
)
from consoleme_assets.sandbox.events import role_change_event, sns_envelope

ACCOUNT = "111122223333"
WHEN = dt.datetime(2026, 12, 4, 15, 0, 0, tzinfo=dt.UTC)


def test_raw_and_sns_wrapped_events_name_the_same_role():
    event = role_change_event(ACCOUNT, "app", when=WHEN)
    raw = parse_role_change("m1", json.dumps(event))
    wrapped = parse_role_change("m2", json.dumps(sns_envelope(event, "arn:aws:sns:us-east-1:1:t")))
    actor = event["detail"]["userIdentity"]["arn"]
    event_id = event["detail"]["eventID"]
    assert raw == RoleChange("m1", f"arn:aws:iam::{ACCOUNT}:role/app", ACCOUNT, WHEN, event_id, actor)
    assert wrapped == RoleChange("m2", f"arn:aws:iam::{ACCOUNT}:role/app", ACCOUNT, WHEN, event_id, actor)


def test_account_from_detail_account_else_recipient_account_and_partition_from_queue():
    event = role_change_event(ACCOUNT, "app", when=WHEN)
    event["detail"]["account"] = "444455556666"
    assert parse_role_change("m", json.dumps(event)).account_id == "444455556666"
    del event["detail"]["account"]
    assert (
        parse_role_change("m", json.dumps(event), partition="aws-us-gov").role_arn
        == f"arn:aws-us-gov:iam::{ACCOUNT}:role/app"
    )


def test_event_time_falls_back_to_detail_then_sent_time():
    event = role_change_event(ACCOUNT, "app", when=WHEN)
    del event["time"]
    assert parse_role_change("m", json.dumps(event)).event_time == WHEN
    del event["detail"]["eventTime"]
    sent = WHEN + dt.timedelta(seconds=3)
    assert parse_role_change("m", json.dumps(event), sent_at=sent).event_time == sent
    assert parse_role_change("m", json.dumps(event)).event_time is None


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not json", "body is not JSON"),
        ("[1, 2]", "body is a JSON list, not an object"),
        (json.dumps({"Type": "Notification", "Message": "{oops"}), "SNS Message is not JSON"),
        (json.dumps({"version": "0", "source": "aws.iam"}), "event has no detail object"),
        (json.dumps({"detail": "x"}), "detail is a str, not an object"),
        (json.dumps({"detail": {"requestParameters": {"roleName": "r"}}}), "is not an account id: None"),
        (
            json.dumps(
                {
                    "detail": {
                        "recipientAccountId": ACCOUNT,
                        "eventName": "CreateServiceLinkedRole",
                        "requestParameters": {"AWSServiceName": "x"},
                    }
                }
            ),
            f"account {ACCOUNT}: detail.requestParameters.roleName is not a role name: 'None' (event CreateServiceLinkedRole)",
        ),
        (
            json.dumps({"detail": {"recipientAccountId": ACCOUNT, "requestParameters": {"roleName": "a/b"}}}),
            "is not a role name: 'a/b'",
        ),
    ],
)
def test_malformed_bodies_are_rejected_with_the_reason(body, reason):
    result = parse_role_change("m-9", body)
    assert isinstance(result, Rejected) and result.message_id == "m-9"
    assert reason in result.reason


def test_coalesce_keeps_one_entry_per_role_and_the_earliest_event():
    a, b = f"arn:aws:iam::{ACCOUNT}:role/a", f"arn:aws:iam::{ACCOUNT}:role/b"
    later = WHEN + dt.timedelta(seconds=30)
    roles = coalesce(
        [
            RoleChange("1", a, ACCOUNT, later),
            RoleChange("2", b, ACCOUNT, None),
            RoleChange("3", a, ACCOUNT, WHEN),
            RoleChange("4", a, ACCOUNT, None),
        ]
    )
    assert list(roles) == [a, b]
    assert roles[a].message_ids == ["1", "3", "4"] and roles[a].first_event_time == WHEN
    assert roles[b].first_event_time is None


def test_lag():
    assert lag_seconds(WHEN, WHEN + dt.timedelta(seconds=12.5)) == 12.5
    assert lag_seconds(None, WHEN) is None
    assert lag_summary([3.0, 10.0, 5.0]) == {
        "roles_with_event_time": 3,
        "max_lag_seconds": 10.0,
        "median_lag_seconds": 5.0,
    }
    assert lag_summary([]) == {"roles_with_event_time": 0}


def test_queue_arn():
    ref = parse_queue_arn("arn:aws:sqs:eu-west-1:123456789012:role-changes")
    assert (ref.region, ref.account_id, ref.name, ref.partition) == ("eu-west-1", "123456789012", "role-changes", "aws")
    for bad in (
        "",
        "arn:aws:sqs:{region}:123456789012:q",
        "arn:aws:sns:us-east-1:123456789012:q",
        "arn:aws:sqs:us-east-1:12345:q",
    ):
        with pytest.raises(ValueError, match="is not arn:<partition>:sqs:<region>:<12-digit account>:<queue name>"):
            parse_queue_arn(bad)


def test_refreshed_role_entry_is_consolemes_refresh_path_variant():
    detail = {
        "Path": "/service/",
        "RoleName": "app",
        "RoleId": "AROAEXAMPLE",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/service/app",
        "CreateDate": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "Description": "d",
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess",
        },
        "Tags": [{"Key": "owner", "Value": "a@example.com"}],
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
        "InstanceProfileList": [],
        "RoleLastUsed": {},
    }
    entry = records.refreshed_role_entry(detail, ACCOUNT, 1234, "https://templates/app")
    assert set(entry) == {
        "arn",
        "name",
        "resourceId",
        "accountId",
        "ttl",
        "policy",
        "permissions_boundary",
        "templated",
    }  # no owner
    assert (entry["name"], entry["resourceId"], entry["templated"]) == ("app", "AROAEXAMPLE", "https://templates/app")
    assert entry["permissions_boundary"] == detail["PermissionsBoundary"]
    policy = json.loads(entry["policy"])
    assert not {"RoleName", "RoleId", "MaxSessionDuration"} & set(policy)
    assert policy["PermissionsBoundary"] == detail["PermissionsBoundary"] and policy["Arn"] == detail["Arn"]
    assert policy["CreateDate"] == "2024-05-06T07:08:09Z" and policy["Tags"] == detail["Tags"]
    no_boundary = {k: v for k, v in detail.items() if k != "PermissionsBoundary"}
    assert records.refreshed_role_entry(no_boundary, ACCOUNT, 1, None)["permissions_boundary"] == {}
