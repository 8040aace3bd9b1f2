"""Account discovery, in ConsoleMe's order: Organizations, else the static config map, else this account."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..settings import Settings
from .sessions import AccountAccessError, AwsSessions, describe_aws_error

log = logging.getLogger(__name__)

# ConsoleMe's CloudAccountModel allows only these statuses. AWS's PENDING_CLOSURE is not one of them
# (ConsoleMe failed validation on it); it is reported as "suspended", which is what it becomes.
_AWS_STATUS = {"ACTIVE": "active", "SUSPENDED": "suspended", "PENDING_CLOSURE": "suspended"}


def account_record(
    account_id: str,
    name: str,
    status: str = "active",
    email: str | None = None,
    aliases: list[str] | None = None,
) -> dict[str, Any]:
    """One entry of ALL_AWS_ACCOUNTS, with every field of ConsoleMe's CloudAccountModel."""
    return {
        "id": account_id,
        "name": name,
        "status": status,
        "type": "aws",
        "sync_enabled": True,
        "sensitive": False,
        "environment": None,
        "aliases": aliases,
        "email": email,
    }


def organization_account_record(account: dict[str, Any]) -> dict[str, Any]:
    """An Organizations `ListAccounts` entry as an ALL_AWS_ACCOUNTS entry."""
    status = _AWS_STATUS.get(str(account.get("Status", "")).upper(), "suspended")
    return account_record(account["Id"], account.get("Name") or account["Id"], status, email=account.get("Email"))


def accounts_from_organizations(settings: Settings, sessions: AwsSessions) -> list[dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for source in settings.organizations:
        master = source.organizations_master_account_id
        role = settings.org_role_for(source)
        try:
            client = sessions.client(
                "organizations",
                account_id=master,
                role_name=role,
                session_name=f"{settings.tuning.role_session_name}-orgs",
            )
            for page in client.get_paginator("list_accounts").paginate():
                for account in page.get("Accounts", []):
                    records.setdefault(account["Id"], organization_account_record(account))
        except AccountAccessError:
            raise
        except (ClientError, BotoCoreError) as exc:
            raise AccountAccessError(
                master, f"cannot list the organization's accounts through role {role}: {describe_aws_error(exc)}"
            ) from None
    return sorted(records.values(), key=lambda r: r["id"])


def accounts_from_config(settings: Settings) -> list[dict[str, Any]]:
    return [account_record(i, n) for i, n in sorted(settings.account_ids_to_name.items())]


def current_account(sessions: AwsSessions) -> list[dict[str, Any]]:
    """ConsoleMe's fallback: the account our own credentials belong to, named by its first alias."""
    try:
        account_id = sessions.client("sts").get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as exc:
        raise RuntimeError(f"cannot identify the current AWS account: {describe_aws_error(exc)}") from None
    try:
        aliases = sessions.client("iam").list_account_aliases().get("AccountAliases", [])
    except (ClientError, BotoCoreError) as exc:  # aliases are cosmetic: the id is enough
        log.warning("account %s: cannot list account aliases: %s", account_id, describe_aws_error(exc))
        aliases = []
    return [account_record(account_id, aliases[0] if aliases else account_id, aliases=aliases or None)]


def discover_accounts(settings: Settings, sessions: AwsSessions) -> tuple[list[dict[str, Any]], str]:
    """All known accounts (every status) and the name of the source they came from."""
    if settings.accounts_from_organizations:
        found = accounts_from_organizations(settings, sessions)
        if found:
            return found, "organizations"
    if settings.accounts_from_config:
        found = accounts_from_config(settings)
        if found:
            return found, "config"
    return current_account(sessions), "current_account"


def active_account_ids(accounts: list[dict[str, Any]]) -> list[str]:
    return sorted(a["id"] for a in accounts if a.get("status") == "active")
