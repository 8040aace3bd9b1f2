"""CloudTrail error items (consoleme_cloudtrail) -> CLOUDTRAIL_ERRORS_BY_ARN `{arn: count}`. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from numbers import Real
from typing import Any


@dataclass
class ErrorCounts:
    """The counts, plus what was left out and why (for materialization metadata)."""

    by_arn: dict[str, int] = field(default_factory=dict)
    expired_items: int = 0
    items_without_arn: int = 0


def is_expired(item: Mapping[str, Any], now: float) -> bool:
    """True once the item's `ttl` (epoch seconds, UTC) has passed: the test ConsoleMe's role page applies.
    DynamoDB deletes expired items only eventually, so the table still holds some; ConsoleMe counted them."""
    ttl = item.get("ttl")
    if ttl is None or isinstance(ttl, bool):
        return False
    try:
        return int(ttl) < int(now)
    except (TypeError, ValueError):
        return False  # an unreadable ttl never expires the item, as DynamoDB itself ignores it


def count_errors_by_arn(items: Iterable[Mapping[str, Any]], now: float) -> ErrorCounts:
    """ConsoleMe's `count_arn_errors`: per principal ARN, the sum of the items' `count` (1 when absent),
    skipping expired items and items without an ARN (ConsoleMe filed those under a `null` key)."""
    result = ErrorCounts()
    for item in items:
        if is_expired(item, now):
            result.expired_items += 1
            continue
        arn = item.get("arn")
        if not arn:
            result.items_without_arn += 1
            continue
        count = item.get("count")
        whole = 1 if count is None else _whole_number(count)
        if whole is None:
            raise ValueError(
                f"CloudTrail error item {arn} / {item.get('request_id')}: count {count!r} is not a whole number >= 0"
            )
        result.by_arn[arn] = result.by_arn.get(arn, 0) + whole
    result.by_arn = dict(sorted(result.by_arn.items()))
    return result


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):  # DynamoDB numbers are Decimal
        return None
    try:
        whole = int(value)
    except (ValueError, OverflowError, InvalidOperation):  # nan, inf
        return None
    return whole if whole == value and whole >= 0 else None


def validate_counts(counts: Any, source: str) -> dict[str, int]:
    """A plugin's result as `{arn: int}`, sorted by ARN; a clear error naming the plugin otherwise."""
    if not isinstance(counts, Mapping):
        raise TypeError(
            f"CloudTrail errors source {source!r} returned {type(counts).__name__}, not a mapping of ARN to count"
        )
    out: dict[str, int] = {}
    for arn, count in counts.items():
        if not isinstance(arn, str) or not arn:
            raise TypeError(f"CloudTrail errors source {source!r} returned a non-string ARN key {arn!r}")
        whole = _whole_number(count)
        if whole is None:
            raise TypeError(
                f"CloudTrail errors source {source!r} returned count {count!r} for {arn}; expected a whole number >= 0"
            )
        out[arn] = whole
    return dict(sorted(out.items()))
