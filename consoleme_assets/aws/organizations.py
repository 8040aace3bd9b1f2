"""AWS Organizations reads for the SCP and organization-structure caches: raw API responses, no reshaping.

Each configured organization (`cache_accounts_from_aws_organizations`) is read in its management account
through its `organizations_master_role_to_assume` (default: the spoke role). ConsoleMe's org-structure task
ignored that setting and assumed a role literally named "ConsoleMe" (spec §8 item 4); here both caches use it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..settings import OrganizationSource, Settings
from .sessions import AwsSessions, describe_aws_error

log = logging.getLogger(__name__)
T = TypeVar("T")

# MaxResults for every paginated call: Organizations allows at most 20 for these (ConsoleMe used 20).
ORG_PAGE_SIZE = 20

# Gone between listing and describing: the thing was deleted or left the organization meanwhile.
_VANISHED = {"PolicyNotFoundException", "AccountNotFoundException", "OrganizationalUnitNotFoundException"}


class OrganizationReadError(RuntimeError):
    """An organization could not be read; names its management account and the role used."""

    def __init__(self, master_account_id: str, role: str, message: str):
        super().__init__(f"organization {master_account_id} (role {role}): {message}")
        self.master_account_id = master_account_id


@dataclass(frozen=True)
class Organization:
    """A configured organization and the client reading it."""

    master_account_id: str
    role: str
    client: Any

    def error(self, what: str, exc: BaseException) -> OrganizationReadError:
        return OrganizationReadError(self.master_account_id, self.role, f"{what}: {describe_aws_error(exc)}")

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            raise self.error(what, exc) from None

    def unless_vanished(self, what: str, call: Callable[[], T]) -> T | None:
        """`call()`, or None when what it reads was deleted (or left the organization) after being listed."""
        try:
            return call()
        except ClientError as exc:
            if _vanished(exc):
                return None
            raise self.error(what, exc) from None
        except BotoCoreError as exc:
            raise self.error(what, exc) from None

    def paginate(self, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every entry of a paginated call (NextToken loop through boto3's paginator)."""
        out: list[dict[str, Any]] = []
        paginator = self.client.get_paginator(operation)
        for page in paginator.paginate(PaginationConfig={"PageSize": ORG_PAGE_SIZE}, **kwargs):
            out.extend(page.get(result_key, []))
        return out


def configured_organizations(settings: Settings) -> list[OrganizationSource]:
    """The configured organizations, each management account once (the first entry for it wins)."""
    seen: dict[str, OrganizationSource] = {}
    for source in settings.organizations:
        if source.organizations_master_account_id in seen:
            log.warning(
                "cache_accounts_from_aws_organizations lists %s more than once; using the first entry",
                source.organizations_master_account_id,
            )
            continue
        seen[source.organizations_master_account_id] = source
    return list(seen.values())


def open_organization(
    settings: Settings, sessions: AwsSessions, source: OrganizationSource, purpose: str
) -> Organization:
    """An Organizations client in the management account through the configured role.

    `purpose` ends the STS session name (e.g. consoleme-assets-scps), so CloudTrail shows which cache read it.
    Raises ValueError when no role is configured, AccountAccessError when the role cannot be assumed.
    """
    master = source.organizations_master_account_id
    role = settings.org_role_for(source)
    client = sessions.client(
        "organizations",
        account_id=master,
        role_name=role,
        session_name=f"{settings.tuning.role_session_name}-{purpose}",
    )
    return Organization(master, role, client)


def _vanished(exc: ClientError) -> bool:
    err = exc.response.get("Error", {})
    # cloudaux surfaced PolicyNotFound as code "400" with the name in the message; accept both.
    return err.get("Code") in _VANISHED or any(code in str(err.get("Message", "")) for code in _VANISHED)


# -- service control policies -------------------------------------------------------------------


@dataclass
class RawScp:
    """One SCP as the API returned it: the ListPolicies summary, its targets, and DescribePolicy's `Policy`
    (None when the policy was deleted after it was listed)."""

    summary: dict[str, Any]
    targets: list[dict[str, Any]] = field(default_factory=list)
    policy: dict[str, Any] | None = None


def read_service_control_policies(org: Organization) -> list[RawScp]:
    """ListPolicies(SERVICE_CONTROL_POLICY), then per policy ListTargetsForPolicy and DescribePolicy."""
    with org.calling("listing service control policies"):
        summaries = org.paginate("list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY")
    raws = []
    for summary in summaries:
        policy_id = summary["Id"]

        def read(policy_id: str = policy_id) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            targets = org.paginate("list_targets_for_policy", "Targets", PolicyId=policy_id)
            return targets, org.client.describe_policy(PolicyId=policy_id)["Policy"]

        found = org.unless_vanished(f"policy {policy_id}", read)
        if found is None:
            log.info(
                "organization %s: policy %s was deleted while being read; skipped", org.master_account_id, policy_id
            )
            raws.append(RawScp(summary))
        else:
            raws.append(RawScp(summary, targets=found[0], policy=found[1]))
    return raws


# -- organization structure ---------------------------------------------------------------------


@dataclass
class RawOrgTree:
    """Everything needed to build one organization's tree, as the API returned it."""

    roots: list[dict[str, Any]] = field(default_factory=list)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # parent id -> OUs, then accounts
    ous: dict[str, dict[str, Any]] = field(default_factory=dict)  # DescribeOrganizationalUnit
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # DescribeAccount
    vanished: list[str] = field(default_factory=list)  # children deleted or moved out while being read


def _describe(org: Organization, child: dict[str, Any]) -> dict[str, Any] | None:
    child_id = child["Id"]
    if child["Type"] == "ORGANIZATIONAL_UNIT":
        return org.unless_vanished(
            f"organizational unit {child_id}",
            lambda: org.client.describe_organizational_unit(OrganizationalUnitId=child_id)["OrganizationalUnit"],
        )
    return org.unless_vanished(
        f"account {child_id}", lambda: org.client.describe_account(AccountId=child_id)["Account"]
    )


def read_org_tree(org: Organization) -> RawOrgTree:
    """ListRoots, then for every root and OU ListChildren(ORGANIZATIONAL_UNIT) + ListChildren(ACCOUNT), and
    DescribeOrganizationalUnit / DescribeAccount for each child (ConsoleMe's calls, depth first)."""
    tree = RawOrgTree()
    with org.calling("listing roots"):
        tree.roots = org.paginate("list_roots", "Roots")
    pending = [root["Id"] for root in tree.roots]
    while pending:
        parent = pending.pop()
        children: list[dict[str, Any]] = []
        for child_type in ("ORGANIZATIONAL_UNIT", "ACCOUNT"):
            with org.calling(f"listing the children of {parent}"):
                children.extend(org.paginate("list_children", "Children", ParentId=parent, ChildType=child_type))
        kept = []
        for child in children:
            described = _describe(org, child)
            if described is None:
                log.info(
                    "organization %s: %s left %s while being read; skipped", org.master_account_id, child["Id"], parent
                )
                tree.vanished.append(child["Id"])
                continue
            kept.append(child)
            if child["Type"] == "ORGANIZATIONAL_UNIT":
                tree.ous[child["Id"]] = described
                pending.append(child["Id"])
            else:
                tree.accounts[child["Id"]] = described
        tree.children[parent] = kept
    return tree
