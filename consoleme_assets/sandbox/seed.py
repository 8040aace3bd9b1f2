"""Seed a moto server with a small ConsoleMe-shaped AWS organisation, through boto3 over HTTP.

Moto's default account 123456789012 is the hub (Organizations management account, ConsoleMe's own
account). Member accounts are reached the way ConsoleMe's hub would: STS AssumeRole into their
``OrganizationAccountAccessRole``; moto files the temporary key under the role's account, so every call
made with it lands in that account. Account ids are deterministic only with the patched moto of
``moto_process`` (ids derived from the account email).

Seeding is not idempotent: a second call on the same server raises :class:`DemoOrgAlreadySeeded`
before changing anything; reset moto (``POST /moto-api/reset``) to seed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# The plan's names are imported from here too (benchmarks, tests).
from .demo_plan import (  # noqa: F401
    CACHE_BUCKET,
    CLOSED_ACCOUNT,
    DYNAMODB_TABLES,
    GROUPS,
    HUB,
    HUB_ACCOUNT_ID,
    MANAGED_POLICIES,
    MEMBERS,
    ORG_ACCESS_ROLE,
    ORG_READER_ROLE,
    REGIONS,
    ROLES,
    SPOKE_ROLE,
    AccountPlan,
    allow,
)
from .seed_events import seed_event_inputs
from .seed_requests import seed_policy_requests

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)


class DemoOrgAlreadySeeded(RuntimeError):
    """The moto server already has an organisation in the hub account."""


@dataclass
class DemoOrg:
    """What :func:`seed_demo_org` created. Lists are sorted; dicts are keyed by account id."""

    endpoint_url: str
    region: str
    organization_id: str
    management_account_id: str = HUB_ACCOUNT_ID
    accounts: dict[str, str] = field(default_factory=dict)  # ACTIVE in ListAccounts, incl. management
    closed_accounts: dict[str, str] = field(default_factory=dict)  # SUSPENDED in ListAccounts
    aliases: dict[str, str] = field(default_factory=dict)  # IAM account alias (the plan's label)
    buckets: dict[str, list[str]] = field(default_factory=dict)  # names, as ListBuckets returns them
    queues: dict[str, list[str]] = field(default_factory=dict)  # queue ARNs over all REGIONS
    topics: dict[str, list[str]] = field(default_factory=dict)  # topic ARNs over all REGIONS
    roles: dict[str, list[str]] = field(default_factory=dict)  # every role ListRoles returns
    users: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    managed_policies: dict[str, list[str]] = field(default_factory=dict)  # customer-managed ARNs
    policy_requests: list[str] = field(default_factory=list)  # request ids
    cloudtrail_denies_queue: str = ""  # ARN of the hub's queue, seeded with CloudTrail events (seed_events)
    role_change_queue: str = ""  # queue ARN (hub); its good events name role_changes (path-less role ARNs)
    role_changes: list[str] = field(default_factory=list)
    regions: tuple[str, ...] = REGIONS
    spoke_role_name: str = SPOKE_ROLE
    org_role_name: str = ORG_READER_ROLE
    cache_bucket: str = CACHE_BUCKET
    dynamodb_tables: tuple[str, ...] = tuple(DYNAMODB_TABLES)

    @property
    def member_account_ids(self) -> list[str]:
        return [a for a in self.accounts if a != self.management_account_id]

    def role_arn(self, account_id: str, role_name: str | None = None) -> str:
        return f"arn:aws:iam::{account_id}:role/{role_name or self.spoke_role_name}"


class _Aws:
    """boto3 clients against one endpoint; one botocore session, so service models load once."""

    def __init__(self, endpoint_url: str, region: str):
        self.endpoint_url, self.region = endpoint_url, region
        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self._credentials: dict[str, dict[str, str]] = {}

    def client(self, service: str, account_id: str = HUB_ACCOUNT_ID, region: str | None = None) -> Any:
        return self._session.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            config=_CONFIG,
            **self._credentials.get(account_id, {}),
        )

    def assume_org_access_role(self, account_id: str) -> None:
        role_arn = f"arn:aws:iam::{account_id}:role/{ORG_ACCESS_ROLE}"
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="consoleme-sandbox-seed")[
            "Credentials"
        ]
        self._credentials[account_id] = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }


def seed_demo_org(endpoint_url: str, region: str = "us-east-1") -> DemoOrg:
    """Create the demo organisation, its IAM/S3/SQS/SNS resources and the hub's ConsoleMe tables.

    Raises :class:`DemoOrgAlreadySeeded` (changing nothing) if the hub already has an organisation.
    """
    aws = _Aws(endpoint_url, region)
    organizations = aws.client("organizations")
    try:
        org = organizations.create_organization(FeatureSet="ALL")["Organization"]
    except organizations.exceptions.AlreadyInOrganizationException as exc:
        raise DemoOrgAlreadySeeded(
            f"moto at {endpoint_url} already has an organisation in account {HUB_ACCOUNT_ID}; "
            "reset it (POST /moto-api/reset) before seeding again"
        ) from exc
    demo = DemoOrg(endpoint_url=endpoint_url, region=region, organization_id=org["Id"])

    members = [(plan, _create_account(organizations, plan)) for plan in MEMBERS]
    closed_id = _create_account(organizations, CLOSED_ACCOUNT)
    try:
        organizations.close_account(AccountId=closed_id)
    except ClientError as exc:  # a moto without CloseAccount: the account simply stays active
        if exc.response["Error"]["Code"] not in ("NotImplemented", "NotImplementedException"):
            raise
    for account in organizations.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]:
        target = demo.accounts if account["Status"] == "ACTIVE" else demo.closed_accounts
        target[account["Id"]] = account["Name"]

    _seed_account(aws, demo, HUB, HUB_ACCOUNT_ID)
    for plan, account_id in members:
        aws.assume_org_access_role(account_id)
        _seed_account(aws, demo, plan, account_id)
        demo.roles[account_id].append(f"arn:aws:iam::{account_id}:role/{ORG_ACCESS_ROLE}")
    _seed_hub(aws, demo, {plan.label: account_id for plan, account_id in members})
    events = seed_event_inputs(aws, {p.label: a for p, a in members}, region, HUB_ACCOUNT_ID)
    demo.cloudtrail_denies_queue, demo.role_change_queue = events.denies_queue, events.role_change_queue
    demo.role_changes = events.role_changes
    demo.queues[HUB_ACCOUNT_ID] += [events.denies_queue, events.role_change_queue]
    for listing in (demo.buckets, demo.queues, demo.topics, demo.roles, demo.users, demo.groups, demo.managed_policies):
        for values in listing.values():
            values.sort()
    return demo


def _create_account(organizations: Any, plan: AccountPlan) -> str:
    status = organizations.create_account(AccountName=plan.name, Email=plan.email)["CreateAccountStatus"]
    if status.get("State") != "SUCCEEDED" or not status.get("AccountId"):
        raise RuntimeError(f"Organizations CreateAccount for {plan.name} <{plan.email}> did not succeed: {status}")
    return status["AccountId"]


def _seed_account(aws: _Aws, demo: DemoOrg, plan: AccountPlan, account_id: str) -> None:
    iam = aws.client("iam", account_id)
    iam.create_account_alias(AccountAlias=plan.label)
    demo.aliases[account_id] = plan.label

    customer_arns = {
        name: iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        for name, document in MANAGED_POLICIES.items()
    }
    demo.managed_policies[account_id] = list(customer_arns.values())

    def policy_arns(names: tuple[str, ...]) -> list[str]:
        return [customer_arns.get(name) or f"arn:aws:iam::aws:policy/{name}" for name in names]

    demo.roles[account_id] = []
    for role in (ROLES[0], *ROLES[1 : 1 + plan.extra_roles], *plan.own_roles):
        created = iam.create_role(
            RoleName=role.name,
            Path=role.path,
            Description=role.description,
            AssumeRolePolicyDocument=json.dumps(_trust(role.trust)),
            Tags=[{"Key": k, "Value": v} for k, v in role.tags.items()],
        )
        for name, document in role.inline.items():
            iam.put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document))
        for arn in policy_arns(role.managed):
            iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)
        demo.roles[account_id].append(created["Role"]["Arn"])

    demo.groups[account_id] = []
    for group, (inline, managed) in GROUPS.items():
        created = iam.create_group(GroupName=group)
        for name, document in inline.items():
            iam.put_group_policy(GroupName=group, PolicyName=name, PolicyDocument=json.dumps(document))
        for arn in policy_arns(managed):
            iam.attach_group_policy(GroupName=group, PolicyArn=arn)
        demo.groups[account_id].append(created["Group"]["Arn"])

    demo.users[account_id] = []
    for user, groups in plan.users:
        created = iam.create_user(UserName=user, Tags=[{"Key": "owner", "Value": f"{user}@example.com"}])
        document = allow(["s3:GetObject"], f"arn:aws:s3:::{plan.label}-*/home/{user}/*")
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-home", PolicyDocument=json.dumps(document))
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=user)
        demo.users[account_id].append(created["User"]["Arn"])

    s3 = aws.client("s3", account_id)
    demo.buckets[account_id] = []
    for index, suffix in enumerate(plan.bucket_suffixes):
        bucket = f"{plan.label}-{suffix}"  # S3 names are global, hence the account label
        s3.create_bucket(Bucket=bucket)
        if index == 0:  # the first bucket of each account lets the hub's ConsoleMe read it
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_bucket_policy(bucket)))
        demo.buckets[account_id].append(bucket)

    demo.queues[account_id], demo.topics[account_id] = [], []
    for region in REGIONS:
        sqs, sns = aws.client("sqs", account_id, region), aws.client("sns", account_id, region)
        for name in (f"{plan.label}-{suffix}" for where, suffix in plan.queues if where == region):
            sqs.create_queue(QueueName=name, tags={"owner": "team-x@example.com"})
            demo.queues[account_id].append(f"arn:aws:sqs:{region}:{account_id}:{name}")
        for name in (f"{plan.label}-{suffix}" for where, suffix in plan.topics if where == region):
            demo.topics[account_id].append(sns.create_topic(Name=name)["TopicArn"])


def _seed_hub(aws: _Aws, demo: DemoOrg, member_ids: dict[str, str]) -> None:
    aws.client("s3").create_bucket(Bucket=CACHE_BUCKET)
    demo.buckets[HUB_ACCOUNT_ID].append(CACHE_BUCKET)

    dynamodb = aws.client("dynamodb")
    for table, (keys, indexes, ttl_attribute) in DYNAMODB_TABLES.items():
        attributes = dict.fromkeys((*keys, *indexes.values()))  # ordered, without duplicates
        gsis = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, key in indexes.items()
        ]
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            **({"GlobalSecondaryIndexes": gsis} if gsis else {}),
        )
        if ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
            )

    demo.policy_requests = seed_policy_requests(dynamodb, member_ids)


def _trust(principal: dict[str, str]) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _bucket_policy(bucket: str) -> dict[str, Any]:
    statement = {
        "Sid": "ConsoleMeHubRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT_ID}:role/{SPOKE_ROLE}"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }
    return {"Version": "2012-10-17", "Statement": [statement]}
