"""Policy request items (consoleme_policy_requests) -> the ALL_POLICY_REQUESTS list (spec §6.5). Pure functions.

ConsoleMe's cache held the items after `convert_policy_requests_to_v3`, and its web tier reads
`principal.principal_arn` from the cache, so the cached copy gets the same conversion. ConsoleMe also wrote
converted items back to DynamoDB; we never write the table (its web converts on every read anyway).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_V2_CHANGE_VERSIONS = ("2.0", "2", 2)


def _aws_resource(principal_arn: Any) -> dict[str, Any]:
    return {"principal_arn": principal_arn, "principal_type": "AwsResource"}


def to_v3(item: dict[str, Any]) -> dict[str, Any]:
    """ConsoleMe's `convert_policy_requests_to_v3` for one item, on a copy (the input is not changed).

    Only `version == "2"` items change: a missing `principal` is built from the top-level `arn`, the
    top-level `arn` is dropped, and v2 changes carrying `principal_arn` get `principal` and version "3.0".
    The request's own `version` stays "2", as in ConsoleMe.
    """
    if item.get("version") not in ("2",):
        return item
    request = copy.deepcopy(item)
    extended = request.get("extended_request")
    if extended and not request.get("principal"):
        # ConsoleMe raised KeyError for such an item without `arn`; we leave its principal absent instead.
        if "arn" in request:
            principal_arn = request.pop("arn")
            request["principal"] = _aws_resource(principal_arn)
            if isinstance(extended, dict):
                extended["principal"] = _aws_resource(principal_arn)
    request.pop("arn", None)
    changes = extended.get("changes", {}) if isinstance(extended, dict) else {}
    for change in changes.get("changes", []) if isinstance(changes, dict) else []:
        if not isinstance(change, dict) or not change.get("principal_arn"):
            continue
        if change.get("version") not in _V2_CHANGE_VERSIONS:
            continue
        change["principal"] = _aws_resource(change.pop("principal_arn"))
        change["version"] = "3.0"
    return request


def request_time(item: dict[str, Any]) -> float:
    """The sort key: epoch seconds; missing or unreadable values sort last (ConsoleMe crashed on them)."""
    value = item.get("request_time", 0)
    if isinstance(value, bool):
        return 0.0
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        log.warning("policy request %s: request_time %r is not a number; sorted last", item.get("request_id"), value)
        return 0.0


def policy_requests_cache(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decoded table items -> ALL_POLICY_REQUESTS: v3-converted, newest `request_time` first.

    Ties are broken by request_id (descending, like the time) so an unchanged table gives a byte-identical cache.
    """
    converted = [to_v3(item) for item in items]
    return sorted(converted, key=lambda r: (request_time(r), str(r.get("request_id", ""))), reverse=True)


def principal_of(request: dict[str, Any]) -> str:
    """What ConsoleMe's requests table shows as the request's principal (v3: principal; v1: arn)."""
    principal = request.get("principal")
    if isinstance(principal, dict):
        return str(principal.get("principal_arn") or principal.get("resource_identifier") or "")
    return str(request.get("arn") or "")
