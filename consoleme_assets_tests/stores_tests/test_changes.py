"""Change detection and field-level diffs (lib/changes.py) on entries built the way our IAM code builds them:
pure, no servers."""

import copy
import datetime as dt
import json
from urllib.parse import quote

from consoleme_assets.iam.records import role_entry
from consoleme_assets.stores.changes import ChangeSet, canonical, compare, summarize, value_hash
from consoleme_assets.stores.field_diff import field_diff

ACCOUNT = "111122223333"
ARN = f"arn:aws:iam::{ACCOUNT}:role/service/app"
POLICY = "policy.RolePolicyList[s3-access].PolicyDocument.Statement"


def role_detail(name: str = "app") -> dict:
    """A GAAD RoleDetail as botocore returns it (datetimes, parsed documents)."""
    return {
        "Path": "/service/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper()}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/service/{name}",
        "CreateDate": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
        "InstanceProfileList": [],
        "RolePolicyList": [
            {
                "PolicyName": "s3-access",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadObjects",
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": "arn:aws:s3:::app-bucket/*",
                        },
                        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::app-bucket"},
                    ],
                },
            },
            {
                "PolicyName": "logs",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"},
                },
            },
        ],
        "AttachedManagedPolicies": [
            {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        ],
        "Tags": [{"Key": "owner", "Value": "a@example.com"}, {"Key": "team", "Value": "x"}],
        "RoleLastUsed": {"LastUsedDate": dt.datetime(2024, 6, 1, tzinfo=dt.UTC), "Region": "us-east-1"},
    }


def entry(detail: dict, ttl: int = 1_700_000_000) -> dict:
    return role_entry(detail, ACCOUNT, ttl, ["owner"], None)


def cached(detail: dict, ttl: int = 1_700_000_000) -> str:
    """What IAM_ROLE_CACHE holds for the role."""
    return json.dumps(entry(detail, ttl))


def s3_statements(detail: dict) -> list:
    return detail["RolePolicyList"][0]["PolicyDocument"]["Statement"]


def test_a_ttl_only_change_is_unchanged_whether_cached_text_or_built_object():
    detail = role_detail()
    changes = compare({ARN: cached(detail, ttl=1)}, {ARN: entry(detail, ttl=2)})
    assert changes == ChangeSet(unchanged=(ARN,))
    assert not changes.has_changes
    assert field_diff(cached(detail, ttl=1), entry(detail, ttl=2)) == []
    assert value_hash(cached(detail, ttl=1)) == value_hash(entry(detail, ttl=2))


def test_keys_added_changed_removed_unchanged_sorted_with_changed_fields():
    a, b, c, d = (role_detail(n) for n in ("a", "b", "c", "d"))
    arn = {n: f"arn:aws:iam::{ACCOUNT}:role/service/{n}" for n in "abcde"}
    b2 = copy.deepcopy(b)
    b2["Tags"].append({"Key": "env", "Value": "prod"})
    previous = {arn["d"]: cached(d), arn["b"]: cached(b), arn["a"]: cached(a), arn["c"]: cached(c)}
    fresh = {arn["e"]: entry(role_detail("e")), arn["b"]: {**entry(b2), "owner": "z"}, arn["a"]: entry(a, ttl=9)}
    changes = compare(previous, fresh)
    assert changes.added == (arn["e"],)
    assert changes.changed == {arn["b"]: ("owner", "policy")}
    assert changes.changed_keys == (arn["b"],)
    assert changes.removed == (arn["c"], arn["d"])
    assert changes.unchanged == (arn["a"],)
    assert changes.counts() == {"added": 1, "changed": 1, "removed": 2, "unchanged": 1}
    assert changes.first(1) == {
        "added": [arn["e"]],
        "changed": [arn["b"]],
        "removed": [arn["c"]],
        "unchanged": [arn["a"]],
    }
    summary = summarize(changes, limit=1)
    assert summary == {
        "counts": changes.counts(),
        "first": changes.first(1),
        "changed_fields": {arn["b"]: ["owner", "policy"]},
    }
    json.dumps(summary)


def test_statement_added_removed_and_changed_by_sid():
    old = role_detail()
    new = copy.deepcopy(old)
    statements = s3_statements(new)
    statements[0]["Action"] = ["s3:GetObject", "s3:PutObject"]  # same Sid, one action added
    del statements[1]  # the Sid-less ListBucket statement removed
    statements.append({"Sid": "Kms", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    diff = field_diff(cached(old, ttl=1), cached(new, ttl=2))
    assert diff == [
        {
            "path": f"{POLICY}[ReadObjects]",
            "op": "changed",
            "old": s3_statements(old)[0],
            "new": statements[0],
            "fields": {"Action": {"added": ["s3:PutObject"], "removed": []}},
        },
        {"path": f"{POLICY}[1]", "op": "removed", "old": s3_statements(old)[1]},
        {"path": f"{POLICY}[Kms]", "op": "added", "new": statements[1]},
    ]
    json.dumps(diff)
    assert compare({ARN: cached(old)}, {ARN: entry(new)}).changed == {ARN: ("policy",)}


def test_reordered_statements_and_string_versus_list_give_no_entries():
    old = role_detail()
    new = copy.deepcopy(old)
    statements = s3_statements(new)
    statements.reverse()
    statements[1]["Action"] = "s3:GetObject"  # was ["s3:GetObject"]
    statements[0]["Action"] = ["s3:ListBucket"]  # was "s3:ListBucket"
    assert field_diff(entry(old), entry(new)) == []


def test_statement_as_object_equals_a_one_element_list_and_changes_show_fields():
    old = role_detail()
    new = copy.deepcopy(old)
    logs = new["RolePolicyList"][1]["PolicyDocument"]
    logs["Statement"] = [logs["Statement"]]
    assert field_diff(entry(old), entry(new)) == []
    logs["Statement"][0]["Condition"] = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    path = "policy.RolePolicyList[logs].PolicyDocument.Statement[0]"  # no Sid: content differs, so remove + add
    assert [(e["path"], e["op"]) for e in field_diff(entry(old), entry(new))] == [(path, "removed"), (path, "added")]


def test_trust_policy_principal_change_is_a_set_change():
    old = role_detail()
    old["AssumeRolePolicyDocument"]["Statement"][0]["Sid"] = "Trust"
    new = copy.deepcopy(old)
    new["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]
    }
    [change] = field_diff(entry(old), entry(new))
    assert change["path"] == "policy.AssumeRolePolicyDocument.Statement[Trust]"
    assert change["fields"] == {"Principal.Service": {"added": ["lambda.amazonaws.com"], "removed": []}}


def test_attached_policies_and_tags_matched_by_name():
    old = role_detail()
    new = copy.deepcopy(old)
    new["AttachedManagedPolicies"].insert(
        0, {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    )
    new["Tags"] = [{"Key": "team", "Value": "y"}, {"Key": "env", "Value": "prod"}]  # owner removed, team changed
    diff = field_diff(entry(old), entry(new))
    assert diff == [
        {
            "path": "owner",
            "op": "changed",
            "old": "a@example.com",
            "new": None,
        },
        {
            "path": "policy.AttachedManagedPolicies[arn:aws:iam::aws:policy/AdministratorAccess]",
            "op": "added",
            "new": new["AttachedManagedPolicies"][0],
        },
        {"path": "policy.Tags[env]", "op": "added", "new": {"Key": "env", "Value": "prod"}},
        {"path": "policy.Tags[owner]", "op": "removed", "old": {"Key": "owner", "Value": "a@example.com"}},
        {"path": "policy.Tags[team].Value", "op": "changed", "old": "x", "new": "y"},
    ]


def test_managed_policy_versions_matched_by_version_id():
    def detail(versions):
        return {"PolicyName": "p", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p", "PolicyVersionList": versions}

    v1 = {"VersionId": "v1", "IsDefaultVersion": True, "Document": {"Statement": [{"Effect": "Allow"}]}}
    v2 = {"VersionId": "v2", "IsDefaultVersion": True, "Document": {"Statement": [{"Effect": "Deny"}]}}
    old = {"arn": "p", "ttl": 1, "policy": json.dumps(detail([v1]))}
    new = {"arn": "p", "ttl": 2, "policy": json.dumps(detail([v2, {**v1, "IsDefaultVersion": False}]))}
    assert field_diff(old, new) == [
        {"path": "policy.PolicyVersionList[v1].IsDefaultVersion", "op": "changed", "old": True, "new": False},
        {"path": "policy.PolicyVersionList[v2]", "op": "added", "new": v2},
    ]


def test_url_encoded_documents_are_decoded():
    detail = role_detail()
    encoded = copy.deepcopy(detail)
    encoded["AssumeRolePolicyDocument"] = quote(json.dumps(detail["AssumeRolePolicyDocument"]))
    assert field_diff(entry(detail), entry(encoded)) == []
    assert value_hash(entry(detail)) == value_hash(entry(encoded))
    assert compare({ARN: cached(detail)}, {ARN: entry(encoded)}).unchanged == (ARN,)
    assert canonical(entry(encoded))["policy"]["AssumeRolePolicyDocument"]["Version"] == "2012-10-17"


def test_per_account_lists_diff_by_item():
    previous = {"111122223333": json.dumps(["b", "a", "c"]), "444455556666": json.dumps(["x"])}
    fresh = {"111122223333": json.dumps(["a", "d", "b"]), "444455556666": ["x"]}
    changes = compare(previous, fresh)
    assert changes.changed == {"111122223333": ()} and changes.unchanged == ("444455556666",)
    assert field_diff(previous["111122223333"], fresh["111122223333"]) == [
        {"path": "c", "op": "removed", "old": "c"},
        {"path": "d", "op": "added", "new": "d"},
    ]
    assert compare({"1": '["a", "b"]'}, {"1": '["b", "a"]'}).unchanged == ("1",)  # order is not content
    assert field_diff(None, '["q"]') == [{"path": "q", "op": "added", "new": "q"}]


def test_a_whole_entry_added_or_removed_lists_its_fields():
    added = field_diff(None, cached(role_detail()))
    assert [e["path"] for e in added] == ["accountId", "arn", "name", "owner", "policy", "resourceId", "templated"]
    assert all(e["op"] == "added" for e in added) and added[4]["new"]["RoleName"] == "app"
    assert [e["op"] for e in field_diff(cached(role_detail()), None)] == ["removed"] * 7


def test_hashes_ignore_key_order_and_ttl_but_not_content():
    value = {"arn": ARN, "ttl": 1, "policy": json.dumps({"B": 1, "A": [1, 2]})}
    reordered = json.dumps({"policy": json.dumps({"A": [1, 2], "B": 1}), "ttl": 5, "arn": ARN})
    assert value_hash(value) == value_hash(reordered)
    assert compare({ARN: value}, {ARN: reordered}).unchanged == (ARN,)  # policy text differs, its JSON does not
    assert len(value_hash(value)) == 64
    assert value_hash(value) != value_hash({**value, "policy": json.dumps({"B": 2, "A": [1, 2]})})
    assert value_hash(value) != value_hash({**value, "policy": json.dumps({"B": 1, "A": [2, 1]})})  # nested order
    assert value_hash(value, ignore=()) != value_hash(reordered, ignore=())
    assert value_hash({"v": True}) != value_hash({"v": 1})
    assert compare({"k": {"v": True}}, {"k": {"v": 1}}).changed == {"k": ("v",)}


def test_aws_config_entries_ignore_ttl():
    item = {"arn": "arn:aws:sqs:us-east-1:1:q", "configuration": {"VisibilityTimeout": "30"}, "ttl": 1}
    assert compare({"q": json.dumps(item)}, {"q": {**item, "ttl": 2}}).unchanged == ("q",)
    changed = {**item, "configuration": {"VisibilityTimeout": "60"}}
    assert field_diff(item, changed) == [
        {"path": "configuration.VisibilityTimeout", "op": "changed", "old": "30", "new": "60"}
    ]


def test_output_is_bounded():
    previous, fresh = json.dumps([f"q{i}" for i in range(500)]), json.dumps([])
    diff = field_diff(previous, fresh)
    assert len(diff) == 201
    assert diff[-1] == {"path": "", "op": "truncated", "count": 300}
    assert len(field_diff(previous, fresh, limit=10)) == 11


def test_bad_json_strings_compare_as_plain_strings():
    assert canonical("{not json") == "{not json"
    assert canonical({"policy": "[oops", "ttl": 3}) == {"policy": "[oops"}
    assert canonical("%7Bnot json") == "%7Bnot json"
    assert compare({"k": "{bad"}, {"k": "{bad"}).unchanged == ("k",)
    assert compare({"k": "{bad"}, {"k": "{worse"}).changed == {"k": ()}
    assert field_diff({"policy": "{bad"}, {"policy": json.dumps({"a": 1})}) == [
        {"path": "policy", "op": "changed", "old": "{bad", "new": {"a": 1}}
    ]
    assert canonical(b'{"a": "1"}') == {"a": "1"}  # strings that are JSON scalars stay strings
