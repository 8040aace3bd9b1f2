"""Collectors for the per-account resource lists (ConsoleMe's account_resource_cache)."""

from __future__ import annotations

from .sessions import AwsSessions


def s3_bucket_names(sessions: AwsSessions, account_id: str) -> list[str]:
    """Names of every bucket the account owns (ListBuckets is global: one call covers all regions)."""
    client = sessions.client("s3", account_id=account_id)
    names: list[str] = []
    for page in client.get_paginator("list_buckets").paginate():
        names.extend(b["Name"] for b in page.get("Buckets", []))
    return sorted(names)
