"""The demo organisation the sandbox seeds, as data: accounts, roles (with the tags ConsoleMe's group mapping
reads), users, groups, managed policies, buckets, queues and topics, and ConsoleMe's DynamoDB tables. seed.py
turns it into AWS calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .seed_requests import POLICY_REQUESTS_TABLE

HUB_ACCOUNT_ID = "123456789012"  # moto's default account: the hub / management account
REGIONS = ("us-east-1", "us-west-2")
SPOKE_ROLE = "ConsoleMe"
ORG_READER_ROLE = "ConsoleMeOrgReader"
ORG_ACCESS_ROLE = "OrganizationAccountAccessRole"  # moto creates it in every CreateAccount
CACHE_BUCKET = "consoleme-sandbox-cache"
_HUB_ROOT = {"AWS": f"arn:aws:iam::{HUB_ACCOUNT_ID}:root"}


def allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


@dataclass(frozen=True)
class RoleSpec:
    name: str
    trust: dict[str, str]
    tags: dict[str, str]
    path: str = "/"
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed: tuple[str, ...] = ()  # MANAGED_POLICIES names, else AWS-managed policy names (with path)
    description: str = "consoleme sandbox role"


@dataclass(frozen=True)
class AccountPlan:
    name: str  # Organizations account name
    label: str  # prefix of the account's resource names, and its IAM account alias
    email: str
    bucket_suffixes: tuple[str, ...]
    extra_roles: int  # how many of ROLES[1:] the account gets besides the spoke role
    users: tuple[tuple[str, tuple[str, ...]], ...]  # (user name, its groups)
    queues: tuple[tuple[str, str], ...] = (("us-east-1", "events"), ("us-west-2", "jobs"))
    topics: tuple[tuple[str, str], ...] = (("us-east-1", "alerts"), ("us-west-2", "alerts"))
    own_roles: tuple[RoleSpec, ...] = ()


MANAGED_POLICIES = {
    "demo-app-policy": allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::demo-*/*"),
    "demo-queue-consumer": allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]),
    "demo-developers": allow(["cloudwatch:GetMetricData", "logs:FilterLogEvents"]),
}
_AUTHORIZED = "consoleme-authorized"  # ConsoleMe group-mapping role tags (see sandbox.yaml)
_AUTHORIZED_CLI = "consoleme-authorized-cli-only"
ROLES = (  # ROLES[0] is the spoke role every account has; the rest are handed out by extra_roles
    RoleSpec(
        SPOKE_ROLE,
        _HUB_ROOT,
        {"owner": "consoleme-admins@example.com"},
        inline={
            "consoleme-spoke": allow(
                [
                    "iam:Get*",
                    "iam:List*",
                    "s3:ListAllMyBuckets",
                    "sqs:ListQueues",
                    "sns:ListTopics",
                    "config:ListDiscoveredResources",
                ]
            )
        },
        managed=("ReadOnlyAccess",),
        description="ConsoleMe spoke role, assumed from the hub",
    ),
    RoleSpec(
        "demo-app",
        {"Service": "ec2.amazonaws.com"},
        {"owner": "team-x@example.com", _AUTHORIZED: "groupa@example.com:groupb@example.com"},
        inline={"app-logs": allow(["logs:CreateLogStream", "logs:PutLogEvents"])},
        managed=("demo-app-policy", "AmazonS3ReadOnlyAccess"),
    ),
    RoleSpec(
        "demo-worker",
        {"Service": "lambda.amazonaws.com"},
        {"owner": "team-y@example.com", _AUTHORIZED: "groupb@example.com"},
        path="/service/",
        inline={"worker-sqs": allow(["sqs:SendMessage"])},
        managed=("demo-queue-consumer", "service-role/AWSLambdaBasicExecutionRole"),
    ),
    RoleSpec(
        "demo-admin",
        _HUB_ROOT,
        {"owner": "team-admins@example.com", _AUTHORIZED: "admins@example.com", _AUTHORIZED_CLI: "groupc@example.com"},
        managed=("AdministratorAccess",),
    ),
    RoleSpec(
        "demo-readonly",
        _HUB_ROOT,
        {"owner": "team-x@example.com", _AUTHORIZED_CLI: "groupa@example.com"},
        inline={
            "deny-secrets": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
            }
        },
        managed=("job-function/ViewOnlyAccess", "demo-app-policy"),
    ),
)
GROUPS = {  # name -> (inline policies, attached policies)
    "developers": ({"developers-debug": allow(["xray:GetTraceSummaries"])}, ("demo-developers",)),
    "auditors": ({}, ("SecurityAudit",)),
}
_ORG_READER = RoleSpec(
    ORG_READER_ROLE,
    _HUB_ROOT,
    {"owner": "consoleme-admins@example.com"},
    inline={"organizations-read": allow(["organizations:Describe*", "organizations:List*"])},
    description="ConsoleMe reads the organisation's accounts with this role",
)
# moto names the management account "master" in ListAccounts; its resources use the label.
HUB = AccountPlan(
    "master",
    "demo-hub",
    "master@example.com",
    ("cloudtrail",),
    2,
    (("admin", ("developers", "auditors")),),
    own_roles=(_ORG_READER,),
)
MEMBERS = (
    AccountPlan(
        "demo-prod",
        "demo-prod",
        "aws-demo-prod@example.com",
        ("assets", "logs", "artifacts"),
        4,
        (("alice", ("developers",)), ("bob", ("developers", "auditors"))),
        queues=(("us-east-1", "events"), ("us-east-1", "events-dlq"), ("us-west-2", "jobs")),
    ),
    AccountPlan(
        "demo-staging",
        "demo-staging",
        "aws-demo-staging@example.com",
        ("assets", "logs"),
        3,
        (("alice", ("developers",)),),
    ),
    AccountPlan(
        "demo-sandbox",
        "demo-sandbox",
        "aws-demo-sandbox@example.com",
        ("scratch",),
        2,
        (("carol", ("developers",)),),
        topics=(("us-east-1", "alerts"),),
    ),
)
CLOSED_ACCOUNT = AccountPlan("demo-retired", "demo-retired", "aws-demo-retired@example.com", (), 0, ())

# Spec §2.4 (ConsoleMe's scripts/initialize_dynamodb_oss.py): name -> (keys, {GSI: partition key}, TTL attr)
DYNAMODB_TABLES: dict[str, tuple[tuple[str, ...], dict[str, str], str | None]] = {
    "consoleme_iamroles_global": (("arn", "accountId"), {}, "ttl"),
    POLICY_REQUESTS_TABLE: (("request_id",), {"arn-request_id-index": "arn"}, None),
    "consoleme_resource_cache": (("resourceId", "resourceType"), {"arn-index": "arn"}, None),
    "consoleme_cloudtrail": (("arn", "request_id"), {}, "ttl"),
    "consoleme_notifications": (("predictable_id",), {}, None),
    "consoleme_config_global": (("id",), {}, None),
}
