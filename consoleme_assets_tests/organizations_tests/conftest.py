"""The demo organization with OUs, moved accounts and SCPs (created here; the shared seed has none)."""

import json
import urllib.request
from dataclasses import dataclass, field

import boto3
import pytest

DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}
DENY_REGIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
        }
    ],
}


@dataclass
class OrgLayout:
    org_id: str
    root_id: str
    master: str
    accounts: dict[str, str]  # name -> id
    ous: dict[str, str] = field(default_factory=dict)  # name -> id
    policies: dict[str, str] = field(default_factory=dict)  # name -> id

    def arn(self, kind: str, ident: str) -> str:
        return f"arn:aws:organizations::{self.master}:{kind}/{self.org_id}/{ident}"


@pytest.fixture
def org_layout(sandbox_env, demo_org) -> OrgLayout:
    """Root -> OU workloads (demo-staging) -> OU production (demo-prod); demo-sandbox, the management and the
    closed account stay under the root. SCPs: deny-leave-organization on workloads and demo-sandbox,
    deny-other-regions on the root, unattached (no targets); plus moto's FullAWSAccess everywhere."""
    orgs = boto3.client("organizations")  # the hub's own credentials: the management account
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    accounts = {name: account_id for account_id, name in {**demo_org.accounts, **demo_org.closed_accounts}.items()}
    layout = OrgLayout(demo_org.organization_id, root_id, demo_org.management_account_id, accounts)

    def ou(name, parent):
        layout.ous[name] = orgs.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
        return layout.ous[name]

    workloads = ou("workloads", root_id)
    production = ou("production", workloads)
    orgs.move_account(AccountId=accounts["demo-staging"], SourceParentId=root_id, DestinationParentId=workloads)
    orgs.move_account(AccountId=accounts["demo-prod"], SourceParentId=root_id, DestinationParentId=production)

    def scp(name, document, description, targets):
        policy = orgs.create_policy(
            Name=name, Description=description, Type="SERVICE_CONTROL_POLICY", Content=json.dumps(document)
        )["Policy"]["PolicySummary"]
        layout.policies[name] = policy["Id"]
        for target in targets:
            orgs.attach_policy(PolicyId=policy["Id"], TargetId=target)

    scp("deny-leave-organization", DENY_LEAVE, "Accounts cannot leave", [workloads, accounts["demo-sandbox"]])
    scp("deny-other-regions", DENY_REGIONS, "Two regions only", [root_id])
    scp("unattached", DENY_LEAVE, "", [])
    return layout


def assumed_roles(moto_url: str) -> list[tuple[str, str]]:
    """(role ARN, session name) of every AssumeRole moto served since its last reset."""
    data = json.load(urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=30))
    return [(r["role_arn"], r["session_name"]) for r in data.get("sts", {}).get("AssumedRole", [])]


def write_config(tmp_path, sandbox_env, body: str) -> str:
    path = tmp_path / "override.yaml"
    path.write_text(f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n{body}")
    return str(path)
