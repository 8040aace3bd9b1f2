"""The one ARN parser: `arn:partition:service:region:account:resource`. Pure; every layer uses it."""

from __future__ import annotations

from dataclasses import dataclass

AWS_MANAGED_ACCOUNT = "aws"  # the account part of AWS-managed policies (arn:aws:iam::aws:policy/...)


class NotAnArn(ValueError):
    """The text is not an ARN; the message quotes it."""


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """The resource's type where it has one (`role` of `role/path/name`), else ''."""
        head, sep, _ = self.resource.partition("/")
        return head if sep else ""

    @property
    def name(self) -> str:
        """The last path element of the resource (`name` of `role/path/name`, `queue` of `queue`)."""
        return self.resource.rsplit("/", 1)[-1]


def parse_arn(text: object) -> Arn:
    """The parts of an ARN; NotAnArn for anything else (the resource may itself contain ':' and '/')."""
    parts = text.split(":", 5) if isinstance(text, str) else []
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        raise NotAnArn(f"{text!r} is not an ARN (arn:partition:service:region:account:resource)")
    return Arn(*parts[1:])


def account_of(arn: object) -> str | None:
    """The 12-digit account id of an ARN; None for ARNs without one (S3 buckets, AWS-managed policies) and for
    text that is not an ARN."""
    try:
        account = parse_arn(arn).account
    except NotAnArn:
        return None
    return account if len(account) == 12 and account.isdigit() else None


def is_aws_managed(arn: object) -> bool:
    """AWS owns it (arn:aws:iam::aws:policy/..., the same in every account), so it belongs to no account."""
    try:
        return parse_arn(arn).account == AWS_MANAGED_ACCOUNT
    except NotAnArn:
        return False


def region_of(arn: object) -> str | None:
    try:
        return parse_arn(arn).region or None
    except NotAnArn:
        return None
