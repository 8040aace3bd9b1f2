"""Whole-table reads of ConsoleMe's DynamoDB tables (policy requests, notifications, CloudTrail errors).
Callers use `ConsoleMeCaches.scan_table`; a table that cannot be read raises `DynamoSourceError` naming it.

ConsoleMe scanned these tables with a parallel Scan and decoded every page but the first (spec §8 item 11).
Here every page goes through `from_dynamo` (DynamoStore.scan), so no placeholder or Decimal reaches a cache.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..aws.sessions import describe_aws_error
from .dynamo_store import DynamoStore

# Items per Scan page; None lets DynamoDB fill 1 MB pages. Tests lower it to force many pages.
SCAN_PAGE_SIZE: int | None = None


class DynamoSourceError(RuntimeError):
    """A ConsoleMe table could not be read."""

    def __init__(self, table: str, message: str):
        super().__init__(f"DynamoDB table {table}: {message}")
        self.table = table


def scan_items(dynamo: DynamoStore | None, table: str) -> list[dict[str, Any]]:
    """Every item of `table`, decoded (placeholders -> "", Decimal -> int/float) on every page."""
    if dynamo is None:
        raise DynamoSourceError(table, "no DynamoDB store configured")
    kwargs: dict[str, Any] = {}
    if SCAN_PAGE_SIZE:
        kwargs["Limit"] = SCAN_PAGE_SIZE
    try:
        return list(dynamo.scan(table, **kwargs))
    except (ClientError, BotoCoreError) as exc:
        raise DynamoSourceError(table, describe_aws_error(exc)) from None
