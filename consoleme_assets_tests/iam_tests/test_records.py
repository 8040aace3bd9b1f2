"""IAM detail -> ConsoleMe entry transforms, without AWS or Dagster."""

import datetime as dt
import json
import time

from consoleme_assets.iam import records
from consoleme_assets.settings.model import RoleFilter

ROLE = {
    "Path": "/service/",
    "RoleName": "app",
    "RoleId": "AROAEXAMPLE",
    "Arn": "arn:aws:iam::111122223333:role/service/app",
    "CreateDate": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
    "Tags": [{"Key": "team", "Value": "x"}, {"Key": "owner", "Value": "a@example.com"}],
    "RolePolicyList": [],
    "AttachedManagedPolicies": [],
    "InstanceProfileList": [],
    "RoleLastUsed": {},
}


def test_role_entry_shape():
    entry = records.role_entry(ROLE, "111122223333", 1234, ["owner"], None)
    assert set(entry) == {"arn", "name", "resourceId", "accountId", "ttl", "owner", "policy", "templated"}
    assert entry["name"] == "app" and entry["resourceId"] == "AROAEXAMPLE" and entry["owner"] == "a@example.com"
    policy = json.loads(entry["policy"])
    assert policy["CreateDate"] == "2024-05-06T05:08:09Z"  # ISO, UTC, Z
    assert policy["Tags"] == ROLE["Tags"]


def test_user_group_policy_entry_shapes():
    user = records.user_entry({"Arn": "arn:u", "UserName": "u", "UserId": "AIDA", "Tags": []}, "1" * 12, 1, [])
    assert set(user) == {"arn", "name", "resourceId", "accountId", "ttl", "owner", "policy", "templated"}
    assert user["templated"] is False and user["owner"] is None
    group = records.group_entry({"Arn": "arn:g", "GroupName": "g", "GroupId": "AGPA"}, "1" * 12, 1)
    assert set(group) == {"arn", "name", "resourceId", "accountId", "ttl", "policy", "templated"}
    pol = records.policy_entry({"Arn": "arn:p", "PolicyName": "p", "PolicyId": "ANPA"}, "1" * 12, 1)
    assert (pol["name"], pol["resourceId"]) == ("p", "ANPA")


def test_ttl_is_utc_whatever_the_host_timezone(monkeypatch):
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    expected = int(now.timestamp()) + 36 * 3600
    for tz in ("UTC", "America/Los_Angeles", "Asia/Kolkata"):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        assert records.ttl_from(now) == expected
    monkeypatch.delenv("TZ")
    time.tzset()


def test_role_filter():
    tags = [{"Key": "consoleme-authorized", "Value": "g"}, {"Key": "env", "Value": "prod"}]
    arn = "arn:aws:iam::111122223333:role/r"
    assert records.allowed_to_sync_role(arn, [], RoleFilter())
    assert records.allowed_to_sync_role(arn, [], RoleFilter(allowed_arns=[arn]))
    assert not records.allowed_to_sync_role(arn, [], RoleFilter(allowed_arns=["arn:other"]))
    assert records.allowed_to_sync_role(arn, tags, RoleFilter(allowed_tag_keys=["consoleme-authorized"]))
    assert records.allowed_to_sync_role(arn, tags, RoleFilter(allowed_tags={"env": "prod"}))
    assert not records.allowed_to_sync_role(arn, tags, RoleFilter(allowed_tags={"env": "prod", "x": "y"}))


def test_owner_tag_keys_in_configured_order():
    tags = [{"Key": "team", "Value": "t"}, {"Key": "owner", "Value": "o"}]
    assert records.principal_owner(tags, ["owner", "team"]) == "o"
    assert records.principal_owner(tags, ["team", "owner"]) == "t"
    assert records.principal_owner(tags, ["nope"]) is None


def test_entry_fields_keep_consolemes_order():
    """The order of the fields is the order of the bytes written: every entry starts with the same head."""
    head = ["arn", "name", "resourceId", "accountId", "ttl"]
    assert list(records.role_entry(ROLE, "111122223333", 1, [], None)) == [*head, "owner", "policy", "templated"]
    assert list(records.refreshed_role_entry(ROLE, "111122223333", 1, None)) == [
        *head,
        "policy",
        "permissions_boundary",
        "templated",
    ]
    assert list(records.user_entry({"Arn": "arn:u"}, "1" * 12, 1, [])) == [*head, "owner", "policy", "templated"]
    for entry in (records.group_entry, records.policy_entry):
        assert list(entry({"Arn": "arn:x"}, "1" * 12, 1)) == [*head, "policy", "templated"]
    nameless = records.role_entry({"Arn": "arn:aws:iam::111122223333:role/service/app"}, "111122223333", 1, [], None)
    assert (nameless["name"], nameless["resourceId"]) == ("app", None)  # from the ARN, as before
    assert records.user_entry({"Arn": "arn:u"}, "1" * 12, 1, [])["name"] is None  # no such fallback for others
