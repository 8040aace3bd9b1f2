"""AWS Config resources of one account: ConsoleMe's `aws_config.query(q, use_aggregator=False, account_id)`.

SelectResourceConfig (Limit 100, NextToken loop) in every region of `aws_config.available_regions` (else
boto3's regions for "config") minus `api_protect.exclude_regions`, through the spoke role, regions in parallel
(`regions.read_regions`). A region that answers with an error is skipped and named (ConsoleMe logged it to
Sentry); an account whose every region fails raises (`AllRegionsFailed`), so its previous cache is kept rather
than emptied.

The Dagster resource the asset calls (`aws_config/source.py`) wraps these; tests substitute a subclass.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from ..settings import Settings
from .regions import REGION_ERRORS, read_regions
from .sessions import AwsSessions

QUERY_KEY = "cache_all_resources_from_aws_config.aws_config.all_resources_query"


class AwsConfigQueryError(RuntimeError):
    """AWS Config could not be queried for an account at all."""


@dataclass
class ConfigSelection:
    """SelectResourceConfig rows of one account, in region order, and how each region went."""

    account_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    regions_read: list[str] = field(default_factory=list)
    regions_failed: dict[str, str] = field(default_factory=dict)  # region -> error text


@functools.cache
def boto3_config_regions() -> list[str]:
    """Every region boto3 knows for AWS Config (read once: a new Session re-reads endpoints.json)."""
    return boto3.Session().get_available_regions("config")


def config_regions(settings: Settings, available: list[str] | None = None) -> list[str]:
    """Regions to query: configured, else every region boto3 knows for "config"; minus the exclusions."""
    regions = list(settings.aws_config.available_regions)
    if not regions:
        regions = available if available is not None else boto3_config_regions()
    excluded = set(settings.aws_config.exclude_regions)
    return [r for r in regions if r not in excluded]


def render_query(settings: Settings, account_id: str) -> str:
    try:
        return settings.aws_config.query.format(account_id=account_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{QUERY_KEY}: cannot fill in the query {settings.aws_config.query!r} for account {account_id}: "
            f"{type(exc).__name__}: {exc} (only {{account_id}} is provided; double other braces)"
        ) from None


def select_all(client: Any, expression: str) -> list[dict[str, Any]]:
    """Every result row of one region's SelectResourceConfig, following NextToken."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Expression": expression, "Limit": 100}
    while True:
        response = client.select_resource_config(**kwargs)
        rows.extend(json.loads(r) for r in response.get("Results", []))
        token = response.get("NextToken")
        if not token:
            return rows
        if token == kwargs.get("NextToken"):  # a service repeating its token would loop forever
            raise AwsConfigQueryError(f"SelectResourceConfig returned the same NextToken twice ({len(rows)} rows read)")
        kwargs["NextToken"] = token


def account_session(sessions: AwsSessions, account_id: str) -> boto3.Session:
    """A session of its own on the account's (auto-refreshing) spoke-role credentials.

    Its ~30 regional clients (~270 KB each) become garbage when the account is done; made through
    `sessions.client` they would stay cached for the whole run (~8 MB per account).
    """
    credentials = sessions.credentials(account_id)  # assumes the role once, naming the account
    sessions.warm("config")
    return sessions.session_on(credentials)


RegionSelect = Callable[[Any, str, str, str], list[dict[str, Any]]]  # (client, account, region, expression) -> rows


def select_account(
    sessions: AwsSessions,
    settings: Settings,
    account_id: str,
    regions: list[str],
    workers: int,
    select_region: RegionSelect = lambda client, account_id, region, expression: select_all(client, expression),
) -> ConfigSelection:
    """The account's rows over `regions`, `workers` regions at a time, each through `select_region` (a region that
    raises ClientError/BotoCoreError is named failed; the others land)."""
    expression = render_query(settings, account_id)
    if not regions:
        raise AwsConfigQueryError(
            f"account {account_id}: no region left to query (aws_config.available_regions minus "
            "api_protect.exclude_regions is empty)"
        )
    session = account_session(sessions, account_id)
    lock = threading.Lock()  # a boto3 session must not create clients from two threads at once

    def query(region: str) -> list[dict[str, Any]]:
        with lock:
            client = session.client(
                "config", region_name=region, endpoint_url=settings.endpoint_url, config=sessions.config
            )
        return select_region(client, account_id, region, expression)

    reads = read_regions(
        account_id,
        regions,
        "AWS Config resources",
        query,
        workers=workers,
        region_errors=(*REGION_ERRORS, AwsConfigQueryError),
    )
    return ConfigSelection(
        account_id=account_id,
        rows=[row for rows in reads.found.values() for row in rows],  # region order: first ARN wins
        regions_read=sorted(reads.found),
        regions_failed=dict(sorted(reads.failed.items())),
    )
