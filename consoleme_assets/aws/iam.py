"""IAM collectors: the account's authorization details, and one role re-read on demand."""

from typing import Any

from botocore.exceptions import ClientError

from .sessions import AwsSessions

GAAD_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
_GAAD_PAGING = {"ResponseMetadata", "Marker", "IsTruncated"}
PAGE_SIZE = 1000  # GetAccountAuthorizationDetails MaxItems (its maximum)


class UnexpectedResponse(RuntimeError):
    """AWS answered with a shape we do not know: fail rather than cache a partial picture."""


def account_authorization_details(sessions: AwsSessions, account_id: str) -> dict[str, Any]:
    """GetAccountAuthorizationDetails, every page merged (users, groups, roles, local and AWS managed policies),
    as ConsoleMe merged them: the first page whole (its `IsTruncated`, `Marker` and `ResponseMetadata` too: they
    are in ConsoleMe's S3 copy of it), the later pages' lists added to it."""
    client = sessions.client("iam", account_id=account_id)
    merged: dict[str, Any] = {}
    pages = client.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        unknown = set(page) - set(GAAD_LISTS) - _GAAD_PAGING
        if unknown:
            raise UnexpectedResponse(
                f"account {account_id}: GetAccountAuthorizationDetails returned unknown keys {sorted(unknown)}"
            )
        if not merged:
            merged = {**page, **{name: list(page.get(name, [])) for name in GAAD_LISTS}}
            continue
        for name in GAAD_LISTS:
            merged[name].extend(page.get(name, []))
    return merged or {name: [] for name in GAAD_LISTS}


def role_detail(sessions: AwsSessions, account_id: str, role_name: str) -> dict[str, Any] | None:
    """One role in GAAD's RoleDetail shape (what IAM_ROLE_CACHE entries hold), or None if it is gone."""
    iam = sessions.client("iam", account_id=account_id)
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise
    attached = [
        {"PolicyName": p["PolicyName"], "PolicyArn": p["PolicyArn"]}
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
        for p in page["AttachedPolicies"]
    ]
    inline = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            inline.append({"PolicyName": name, "PolicyDocument": document})
    tags = [t for page in iam.get_paginator("list_role_tags").paginate(RoleName=role_name) for t in page["Tags"]]
    profiles = [
        p
        for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=role_name)
        for p in page["InstanceProfiles"]
    ]
    detail = {k: v for k, v in role.items() if k not in ("Tags", "MaxSessionDuration")}
    detail.update(InstanceProfileList=profiles, RolePolicyList=inline, AttachedManagedPolicies=attached, Tags=tags)
    return detail


def role_quota_usage(sessions: AwsSessions, account_id: str) -> dict[str, int]:
    """The account's IAM GetAccountSummary map (Roles, RolesQuota, ...), through the spoke role."""
    return sessions.client("iam", account_id=account_id).get_account_summary()["SummaryMap"]
