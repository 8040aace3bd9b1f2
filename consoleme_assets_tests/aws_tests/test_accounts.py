"""Account discovery: Organizations through the configured role, static config, current account."""

import boto3

from consoleme_assets.aws.accounts import (
    active_account_ids,
    discover_accounts,
    organization_account_record,
)
from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG_FILE
from consoleme_assets.settings import load_settings

ACCOUNT_FIELDS = {"id", "name", "status", "type", "sync_enabled", "sensitive", "environment", "aliases", "email"}


def test_from_organizations(aws_env, demo_org):
    settings = load_settings(SANDBOX_CONFIG_FILE, env=aws_env)
    accounts, source = discover_accounts(settings, AwsSessions(settings))
    assert source == "organizations"
    by_id = {a["id"]: a for a in accounts}
    assert {i: a["name"] for i, a in by_id.items() if a["status"] == "active"} == demo_org.accounts
    for closed in demo_org.closed_accounts:
        assert by_id[closed]["status"] == "suspended"
    assert active_account_ids(accounts) == sorted(demo_org.accounts)
    assert all(set(a) == ACCOUNT_FIELDS and a["type"] == "aws" and a["sync_enabled"] for a in accounts)
    assert all(a["email"] for a in accounts)


def test_organizations_read_through_the_configured_role(aws_env, demo_org):
    settings = load_settings(SANDBOX_CONFIG_FILE, env=aws_env)
    sessions = AwsSessions(settings)
    discover_accounts(settings, sessions)
    identity = sessions.client(
        "sts", account_id="123456789012", role_name="ConsoleMeOrgReader", session_name="consoleme-assets-orgs"
    ).get_caller_identity()
    assert identity["Arn"].endswith(":assumed-role/ConsoleMeOrgReader/consoleme-assets-orgs")


def test_from_static_config(tmp_path, aws_env, moto):
    cfg = tmp_path / "c.yaml"
    cfg.write_text('account_ids_to_name: {"111122223333": prod, "444455556666": dev}\n')
    settings = load_settings(cfg, env=aws_env)
    accounts, source = discover_accounts(settings, AwsSessions(settings))
    assert source == "config"
    assert [(a["id"], a["name"], a["status"]) for a in accounts] == [
        ("111122223333", "prod", "active"),
        ("444455556666", "dev", "active"),
    ]


def test_falls_back_to_current_account_with_alias(tmp_path, aws_env, moto):
    boto3.client("iam").create_account_alias(AccountAlias="my-hub")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("{}\n")
    settings = load_settings(cfg, env=aws_env)
    accounts, source = discover_accounts(settings, AwsSessions(settings))
    assert source == "current_account"
    assert accounts == [
        {
            "id": "123456789012",
            "name": "my-hub",
            "status": "active",
            "type": "aws",
            "sync_enabled": True,
            "sensitive": False,
            "environment": None,
            "aliases": ["my-hub"],
            "email": None,
        }
    ]


def test_organization_statuses_fit_consoleme_model():
    assert organization_account_record({"Id": "1" * 12, "Name": "a", "Status": "ACTIVE"})["status"] == "active"
    assert organization_account_record({"Id": "1" * 12, "Status": "SUSPENDED"})["status"] == "suspended"
    # ConsoleMe's model has no pending_closure (it failed validation on it).
    assert organization_account_record({"Id": "1" * 12, "Status": "PENDING_CLOSURE"})["status"] == "suspended"
