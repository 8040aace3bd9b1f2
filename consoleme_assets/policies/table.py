"""ConsoleMe's policies table (spec §6.3) built with pandas. Pure: inputs in, rows out."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

if TYPE_CHECKING:
    import pandas as pd

# Resource types whose rows come from ConsoleMe's own caches, so AWS Config's copies are skipped.
# ConsoleMe did not skip AWS::IAM::User here and listed every user twice: fixed.
CONFIG_TYPES_COVERED_ELSEWHERE = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::S3::Bucket",
        "AWS::IAM::ManagedPolicy",
    }
)
COLUMNS = ["account_id", "account_name", "arn", "technology", "templated", "errors"]


@dataclass
class TableInputs:
    roles: Iterable[tuple[str, str | None]] = ()  # (arn, resourceId), already role-filtered
    users: Iterable[tuple[str, str | None]] = ()
    s3_buckets: Mapping[str, list[str]] = field(default_factory=dict)  # account -> bucket names
    sns_topics: Mapping[str, list[str]] = field(default_factory=dict)
    sqs_queues: Mapping[str, list[str]] = field(default_factory=dict)
    managed_policies: Mapping[str, list[str]] = field(default_factory=dict)
    config_resources: Iterable[tuple[str, str, str]] = ()  # (arn, resourceType, accountId)
    account_names: Mapping[str, str] = field(default_factory=dict)
    cloudtrail_errors: Mapping[str, int] = field(default_factory=dict)
    s3_errors: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    templated: Mapping[str, str] = field(default_factory=dict)  # lower-cased ARN -> link


@dataclass(frozen=True)
class HistoryUrls:
    region: str = "us-east-1"
    conglomo_url: str | None = None  # set when get_aws_config_history_url_for_resource.generate_conglomo_url

    def url(self, account_id: str, resource_id: str | None, arn: str, technology: str) -> str:
        resource_id = resource_id or ""
        if self.conglomo_url:
            encoded = base64.urlsafe_b64encode(resource_id.encode()).decode()
            return f"{self.conglomo_url}/resource/{account_id}/{self.region}/{technology}/{encoded}"
        # quote_plus works per character, so quoting the constant parts once (cached) gives the same text
        # as quoting the whole redirect per row, at a third of the cost over 100k rows.
        head, middle, tail = _redirect_parts(self.region, technology)
        return f"/role/{account_id}?redirect={head}{quote_plus(resource_id)}{middle}{quote_plus(arn)}{tail}"


@functools.cache
def _redirect_parts(region: str, technology: str) -> tuple[str, str, str]:
    return (
        quote_plus(f"https://{region}.console.aws.amazon.com/config/home?#/resources/timeline?resourceId="),
        quote_plus("&resourceName="),
        quote_plus(f"&resourceType={technology}"),
    )


def _pandas():
    """pandas, imported when a table is built: importing it costs about half a second, which every process that
    loads the definitions (each CLI refresh, each run) would otherwise pay."""
    import pandas

    return pandas


def _nullable(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _principals(
    pairs: Iterable[tuple[str, str | None]],
    technology: str,
    inputs: TableInputs,
    s3_error_counts: Mapping[str, int],
    urls: HistoryUrls,
) -> pd.DataFrame:
    pd = _pandas()
    df = pd.DataFrame(list(pairs), columns=["arn", "resource_id"])
    if df.empty:
        return pd.DataFrame(columns=COLUMNS + ["config_history_url"])
    df["account_id"] = df["arn"].str.split(":").str[4]  # aws/arns.py's account field, as one column operation
    df["account_name"] = df["account_id"].map(inputs.account_names).fillna("Unknown")
    df["technology"] = technology
    df["templated"] = _nullable(df["arn"].str.lower().map(inputs.templated))
    errors = df["arn"].map(inputs.cloudtrail_errors).fillna(0) + df["arn"].map(s3_error_counts).fillna(0)
    df["errors"] = errors.astype(int)
    df["config_history_url"] = [
        urls.url(a, r, arn, technology)
        for a, r, arn in zip(df["account_id"], df["resource_id"], df["arn"], strict=False)
    ]
    return df[COLUMNS + ["config_history_url"]]


def _per_account(
    lists: Mapping[str, list[str]],
    technology: str,
    inputs: TableInputs,
    to_arn=lambda x: x,
    keep=lambda account, arn: True,
    errors: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    pd = _pandas()
    rows = [(account, to_arn(item)) for account, items in lists.items() for item in items]
    df = pd.DataFrame([r for r in rows if keep(*r)], columns=["account_id", "arn"])
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    df["account_name"] = df["account_id"].map(inputs.account_names).fillna("Unknown")
    df["technology"] = technology
    df["templated"] = None
    df["errors"] = df["arn"].map(errors).fillna(0).astype(int) if errors else 0
    return df[COLUMNS]


def build_policies_table(inputs: TableInputs, urls: HistoryUrls) -> list[dict[str, Any]]:
    """Rows in ConsoleMe's order: roles, users, buckets, topics, queues, customer managed policies, Config."""
    pd = _pandas()
    s3_error_counts = {arn: sum(int(e.get("count", 0)) for e in errs) for arn, errs in inputs.s3_errors.items() if errs}
    config = pd.DataFrame(list(inputs.config_resources), columns=["arn", "technology", "item_account"])
    if not config.empty:
        config = config[~config["technology"].isin(CONFIG_TYPES_COVERED_ELSEWHERE)].copy()
        from_arn = config["arn"].str.split(":").str[4]
        config["account_id"] = from_arn.where(from_arn.fillna("") != "", config["item_account"])
        config["account_name"] = config["account_id"].map(inputs.account_names).fillna("Unknown")
        config["templated"] = None
        config["errors"] = 0
        config = config[COLUMNS]
    frames = [
        _principals(inputs.roles, "AWS::IAM::Role", inputs, s3_error_counts, urls),
        _principals(inputs.users, "AWS::IAM::User", inputs, s3_error_counts, urls),
        _per_account(
            inputs.s3_buckets, "AWS::S3::Bucket", inputs, to_arn=lambda b: f"arn:aws:s3:::{b}", errors=s3_error_counts
        ),
        _per_account(inputs.sns_topics, "AWS::SNS::Topic", inputs),
        _per_account(inputs.sqs_queues, "AWS::SQS::Queue", inputs),
        # AWS-managed policies are the same everywhere and not editable: only the account's own.
        _per_account(inputs.managed_policies, "managed_policy", inputs, keep=lambda account, arn: account in arn),
        config if not config.empty else pd.DataFrame(columns=COLUMNS),
    ]
    rows: list[dict[str, Any]] = []
    for frame in frames:
        if not frame.empty:
            rows.extend(_records(frame))
    return rows


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """frame.to_dict("records") with plain Python values, built column-wise (about 4x faster at 100k rows)."""
    pd = _pandas()
    columns = list(frame.columns)
    values = [[None if v is pd.NA else v for v in frame[c].tolist()] for c in columns]
    return [dict(zip(columns, row, strict=False)) for row in zip(*values, strict=False)]
