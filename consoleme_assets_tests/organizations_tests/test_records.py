"""Organizations responses -> ALL_AWS_SCPS / AWS_ORG_STRUCTURE entries, without Dagster or AWS."""

import datetime as dt
import json

import pytest

from consoleme_assets.aws.organizations import RawOrgTree, RawScp
from consoleme_assets.organizations.records import (
    count_nodes,
    merge_org_structures,
    org_structure,
    outline,
    scp_entries,
)

ORG = "arn:aws:organizations::111111111111"
CONTENT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
SUMMARY = {
    "Id": "p-abcd1234",
    "Arn": f"{ORG}:policy/o-1/service_control_policy/p-abcd1234",
    "Name": "deny-all",
    "Description": "Deny everything",
    "Type": "SERVICE_CONTROL_POLICY",
    "AwsManaged": False,
}
TARGET = {
    "TargetId": "ou-ab12-cdef3456",
    "Arn": f"{ORG}:ou/o-1/ou-ab12-cdef3456",
    "Name": "workloads",
    "Type": "ORGANIZATIONAL_UNIT",
}


def test_scp_entry_has_consoleme_model_fields_in_order():
    raws = [RawScp(SUMMARY, targets=[TARGET], policy={"PolicySummary": SUMMARY, "Content": CONTENT})]
    entries, skipped = scp_entries(raws, "111111111111")
    assert skipped == []
    assert entries == [
        {
            "targets": [
                {
                    "target_id": "ou-ab12-cdef3456",
                    "arn": f"{ORG}:ou/o-1/ou-ab12-cdef3456",
                    "name": "workloads",
                    "type": "ORGANIZATIONAL_UNIT",
                }
            ],
            "policy": {
                "id": "p-abcd1234",
                "arn": f"{ORG}:policy/o-1/service_control_policy/p-abcd1234",
                "name": "deny-all",
                "description": "Deny everything",
                "type": "SERVICE_CONTROL_POLICY",
                "aws_managed": False,
                "content": CONTENT,
            },
        }
    ]
    assert list(entries[0]) == ["targets", "policy"]
    assert list(entries[0]["targets"][0]) == ["target_id", "arn", "name", "type"]
    assert list(entries[0]["policy"]) == ["id", "arn", "name", "description", "type", "aws_managed", "content"]


def test_deleted_policies_are_skipped_and_reported():
    gone = {**SUMMARY, "Id": "p-gone0000"}
    raws = [RawScp(gone), RawScp(SUMMARY, targets=[], policy={"PolicySummary": SUMMARY, "Content": CONTENT})]
    entries, skipped = scp_entries(raws, "111111111111")
    assert [e["policy"]["id"] for e in entries] == ["p-abcd1234"]
    assert entries[0]["targets"] == []
    assert skipped == ["p-gone0000"]


def test_missing_description_is_an_empty_string_and_missing_content_an_error():
    summary = {k: v for k, v in SUMMARY.items() if k != "Description"}
    entries, _ = scp_entries([RawScp(summary, policy={"PolicySummary": summary, "Content": CONTENT})], "1")
    assert entries[0]["policy"]["description"] == ""
    with pytest.raises(ValueError, match="organization 111111111111, policy p-abcd1234: .* no 'Content'"):
        scp_entries([RawScp(SUMMARY, policy={"PolicySummary": SUMMARY})], "111111111111")


JOINED = dt.datetime(2024, 5, 1, 12, 0, 30, 500000, tzinfo=dt.UTC)


def tree():
    def account(i, name):
        return {
            "Id": i,
            "Arn": f"{ORG}:account/o-1/{i}",
            "Email": f"{name}@example.com",
            "Name": name,
            "Status": "ACTIVE",
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": JOINED,
        }

    return RawOrgTree(
        roots=[
            {
                "Id": "r-ab12",
                "Arn": f"{ORG}:root/o-1/r-ab12",
                "Name": "Root",
                "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
            }
        ],
        children={
            "r-ab12": [
                {"Id": "ou-ab12-11111111", "Type": "ORGANIZATIONAL_UNIT"},
                {"Id": "111111111111", "Type": "ACCOUNT"},
            ],
            "ou-ab12-11111111": [
                {"Id": "ou-ab12-22222222", "Type": "ORGANIZATIONAL_UNIT"},
                {"Id": "222222222222", "Type": "ACCOUNT"},
            ],
            "ou-ab12-22222222": [],
        },
        ous={
            "ou-ab12-11111111": {
                "Id": "ou-ab12-11111111",
                "Arn": f"{ORG}:ou/o-1/ou-ab12-11111111",
                "Name": "workloads",
            },
            "ou-ab12-22222222": {"Id": "ou-ab12-22222222", "Arn": f"{ORG}:ou/o-1/ou-ab12-22222222", "Name": "empty"},
        },
        accounts={
            "111111111111": account("111111111111", "master"),
            "222222222222": {**account("222222222222", "prod"), "JoinedTimestamp": JOINED.replace(tzinfo=None)},
        },
    )


def test_org_structure_has_consoleme_shape():
    structure = org_structure(tree())
    epoch = JOINED.timestamp()
    assert structure == {
        "r-ab12": {
            "Id": "r-ab12",
            "Arn": f"{ORG}:root/o-1/r-ab12",
            "Name": "Root",
            "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
            "Children": [
                {
                    "Id": "ou-ab12-11111111",
                    "Type": "ORGANIZATIONAL_UNIT",
                    "Parent": "r-ab12",
                    "Arn": f"{ORG}:ou/o-1/ou-ab12-11111111",
                    "Name": "workloads",
                    "Children": [
                        {
                            "Id": "ou-ab12-22222222",
                            "Type": "ORGANIZATIONAL_UNIT",
                            "Parent": "ou-ab12-11111111",
                            "Arn": f"{ORG}:ou/o-1/ou-ab12-22222222",
                            "Name": "empty",
                            "Children": [],
                        },
                        {
                            "Id": "222222222222",
                            "Type": "ACCOUNT",
                            "Parent": "ou-ab12-11111111",
                            "Arn": f"{ORG}:account/o-1/222222222222",
                            "Email": "prod@example.com",
                            "Name": "prod",
                            "Status": "ACTIVE",
                            "JoinedMethod": "CREATED",
                            "JoinedTimestamp": epoch,
                        },
                    ],
                },
                {
                    "Id": "111111111111",
                    "Type": "ACCOUNT",
                    "Parent": "r-ab12",
                    "Arn": f"{ORG}:account/o-1/111111111111",
                    "Email": "master@example.com",
                    "Name": "master",
                    "Status": "ACTIVE",
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": epoch,
                },
            ],
        }
    }
    ou = structure["r-ab12"]["Children"][0]
    assert list(ou) == ["Id", "Type", "Parent", "Arn", "Name", "Children"]  # ConsoleMe's update order
    assert list(ou["Children"][1])[:3] == ["Id", "Type", "Parent"]
    assert epoch == 1714564830.5
    assert count_nodes(structure) == {"roots": 1, "organizational_units": 2, "accounts": 2}
    assert outline(structure).splitlines() == [
        "Root (r-ab12)",
        "  - workloads (OU ou-ab12-11111111)",
        "    - empty (OU ou-ab12-22222222)",
        "    - prod (account 222222222222)",
        "  - master (account 111111111111)",
    ]


def test_merging_organizations_keys_roots_and_rejects_a_shared_root():
    one, two = org_structure(tree()), {"r-zz99": {"Id": "r-zz99", "Children": []}}
    assert list(merge_org_structures([("111111111111", one), ("999999999999", two)])) == ["r-ab12", "r-zz99"]
    with pytest.raises(
        ValueError, match="root r-ab12 is reported by organization 111111111111 and by organization 999"
    ):
        merge_org_structures([("111111111111", one), ("999999999999", one)])
