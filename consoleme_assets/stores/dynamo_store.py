"""DynamoDB items in ConsoleMe's encoding: "" stored as a placeholder, numbers as Decimal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary

EMPTY_STRING = "---DYNAMO-EMPTY-STRING---"


def to_dynamo(value: Any) -> Any:
    """ConsoleMe's `_data_to_dynamo_replace`: "" -> placeholder, numbers -> Decimal, datetimes -> epoch."""
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if not str(k).startswith("aws:rep:")}
    if isinstance(value, (list, tuple)):
        return [to_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {to_dynamo(v) for v in value}
    if isinstance(value, str):
        return EMPTY_STRING if value == "" else value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return Decimal(str(value.timestamp()))
    return value


def from_dynamo(value: Any) -> Any:
    """ConsoleMe's `_data_from_dynamo_replace`, applied to every item of every page (ConsoleMe skipped the first)."""
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items() if not str(k).startswith("aws:rep:")}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, set):
        return {from_dynamo(v) for v in value}
    if isinstance(value, str):
        return "" if value == EMPTY_STRING else value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value)
    return value


class DynamoStore:
    """Thin layer over a boto3 DynamoDB *resource* (hub credentials)."""

    def __init__(self, resource: Any):
        self.resource = resource
        self._exists: dict[str, bool] = {}

    def table_exists(self, table: str) -> bool:
        """Whether the table exists (asked once per table per run). ConsoleMe's deployment script creates its
        tables; a deployment without one still gets its Redis and S3 caches, with a note."""
        if table not in self._exists:
            from botocore.exceptions import ClientError

            try:
                self.resource.meta.client.describe_table(TableName=table)
                self._exists[table] = True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                self._exists[table] = False
        return self._exists[table]

    def put_items(self, table: str, items: Iterable[dict[str, Any]], key_names: list[str]) -> int:
        count = 0
        with self.resource.Table(table).batch_writer(overwrite_by_pkeys=key_names) as batch:
            for item in items:
                batch.put_item(Item=to_dynamo(item))
                count += 1
        return count

    def delete_items(self, table: str, keys: Iterable[dict[str, Any]], key_names: list[str]) -> int:
        count = 0
        with self.resource.Table(table).batch_writer(overwrite_by_pkeys=key_names) as batch:
            for key in keys:
                batch.delete_item(Key=to_dynamo(key))
                count += 1
        return count

    def scan(self, table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item, page by page, decoded."""
        tbl = self.resource.Table(table)
        while True:
            page = tbl.scan(**kwargs)
            for item in page.get("Items", []):
                yield from_dynamo(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.resource.Table(table).get_item(Key=to_dynamo(key)).get("Item")
        return None if item is None else from_dynamo(item)

    def get_items(self, table: str, keys: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items with these keys (BatchGetItem, 100 keys a call, unprocessed keys retried), decoded;
        keys without an item are left out."""
        unique = list({tuple(sorted(k.items())): k for k in keys}.values())
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), 100):
            request = {table: {"Keys": [to_dynamo(k) for k in unique[start : start + 100]]}}
            for _ in range(10):  # DynamoDB may hand back part of a batch under load
                answer = self.resource.batch_get_item(RequestItems=request)
                found += [from_dynamo(item) for item in answer.get("Responses", {}).get(table, [])]
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError(f"DynamoDB table {table}: BatchGetItem left keys unprocessed after 10 attempts")
        return found
