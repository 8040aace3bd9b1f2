"""Organizations collectors on a real botocore client with canned responses (Stubber): the cases moto cannot
produce (a policy or account deleted between listing and describing, AccessDenied mid-read)."""

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from consoleme_assets.aws.organizations import (
    Organization,
    OrganizationReadError,
    read_org_tree,
    read_service_control_policies,
)

MASTER, ROLE = "111111111111", "OrgReader"


def summary(policy_id):
    return {
        "Id": policy_id,
        "Arn": f"arn:aws:organizations::{MASTER}:policy/o-abcdefghij/service_control_policy/{policy_id}",
        "Name": policy_id,
        "Description": "",
        "Type": "SERVICE_CONTROL_POLICY",
        "AwsManaged": False,
    }


@pytest.fixture
def stubbed():
    client = boto3.client(
        "organizations",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="https://organizations.us-east-1.amazonaws.com",
    )
    with Stubber(client) as stub:
        yield Organization(MASTER, ROLE, client), stub
        stub.assert_no_pending_responses()


def test_policy_deleted_while_read_is_skipped(stubbed):
    org, stub = stubbed
    p1, p2 = "p-aaaaaaaa", "p-bbbbbbbb"
    target = {
        "TargetId": "r-ab12",
        "Arn": f"arn:aws:organizations::{MASTER}:root/o-abcdefghij/r-ab12",
        "Name": "Root",
        "Type": "ROOT",
    }
    stub.add_response(
        "list_policies",
        {"Policies": [summary(p1)], "NextToken": "t1"},
        {"Filter": "SERVICE_CONTROL_POLICY", "MaxResults": 20},
    )
    stub.add_response(
        "list_policies",
        {"Policies": [summary(p2)]},
        {"Filter": "SERVICE_CONTROL_POLICY", "MaxResults": 20, "NextToken": "t1"},
    )
    stub.add_response("list_targets_for_policy", {"Targets": [target]}, {"PolicyId": p1, "MaxResults": 20})
    stub.add_client_error("describe_policy", "PolicyNotFoundException", "gone", expected_params={"PolicyId": p1})
    stub.add_response("list_targets_for_policy", {"Targets": []}, {"PolicyId": p2, "MaxResults": 20})
    stub.add_response("describe_policy", {"Policy": {"PolicySummary": summary(p2), "Content": "{}"}}, {"PolicyId": p2})

    raws = read_service_control_policies(org)
    assert [(r.summary["Id"], r.policy is None, r.targets) for r in raws] == [(p1, True, []), (p2, False, [])]
    assert raws[1].policy == {"PolicySummary": summary(p2), "Content": "{}"}


def test_cloudaux_style_policy_not_found_is_skipped_too(stubbed):
    org, stub = stubbed
    stub.add_response(
        "list_policies", {"Policies": [summary("p-aaaaaaaa")]}, {"Filter": "SERVICE_CONTROL_POLICY", "MaxResults": 20}
    )
    stub.add_client_error("list_targets_for_policy", "400", "PolicyNotFoundException: no such policy")
    assert read_service_control_policies(org)[0].policy is None


def test_access_denied_names_organization_role_and_policy(stubbed):
    org, stub = stubbed
    stub.add_response(
        "list_policies", {"Policies": [summary("p-aaaaaaaa")]}, {"Filter": "SERVICE_CONTROL_POLICY", "MaxResults": 20}
    )
    stub.add_response("list_targets_for_policy", {"Targets": []})
    stub.add_client_error("describe_policy", "AccessDeniedException", "not allowed")
    with pytest.raises(OrganizationReadError) as caught:
        read_service_control_policies(org)
    assert str(caught.value) == (
        "organization 111111111111 (role OrgReader): policy p-aaaaaaaa: DescribePolicy: AccessDeniedException: not allowed"
    )


def test_list_policies_failure_is_named(stubbed):
    org, stub = stubbed
    stub.add_client_error("list_policies", "AWSOrganizationsNotInUseException", "no org")
    with pytest.raises(
        OrganizationReadError,
        match=r"organization 111111111111 \(role OrgReader\): "
        r"listing service control policies: ListPolicies: AWSOrganizationsNotInUseException",
    ):
        read_service_control_policies(org)


def test_account_that_left_while_read_is_skipped(stubbed):
    org, stub = stubbed
    root = {
        "Id": "r-ab12",
        "Arn": "arn:aws:organizations::111111111111:root/o-abcdefghij/r-ab12",
        "Name": "Root",
        "PolicyTypes": [],
    }
    account = {
        "Id": MASTER,
        "Arn": "arn:x",
        "Email": "m@example.com",
        "Name": "master",
        "Status": "ACTIVE",
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }
    stub.add_response("list_roots", {"Roots": [root]}, {"MaxResults": 20})
    stub.add_response(
        "list_children", {"Children": []}, {"ParentId": "r-ab12", "ChildType": "ORGANIZATIONAL_UNIT", "MaxResults": 20}
    )
    stub.add_response(
        "list_children",
        {"Children": [{"Id": MASTER, "Type": "ACCOUNT"}, {"Id": "222222222222", "Type": "ACCOUNT"}]},
        {"ParentId": "r-ab12", "ChildType": "ACCOUNT", "MaxResults": 20},
    )
    stub.add_response("describe_account", {"Account": account}, {"AccountId": MASTER})
    stub.add_client_error(
        "describe_account", "AccountNotFoundException", "left", expected_params={"AccountId": "222222222222"}
    )

    tree = read_org_tree(org)
    assert tree.roots == [root]
    assert tree.children == {"r-ab12": [{"Id": MASTER, "Type": "ACCOUNT"}]}
    assert tree.accounts == {MASTER: account}
    assert tree.vanished == ["222222222222"]
