"""Materialization metadata of the stores' write reports (what the UI shows for each write: keys, bytes, S3 URIs,
counts). The stores stay free of Dagster; the assets turn their reports into metadata with these."""

from typing import Any

import dagster as dg

from ..stores.config_cache import AccountWrite, RunWrite
from ..stores.reports import WriteReport


def report_metadata(report: WriteReport) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "redis_keys": dg.MetadataValue.json(report.redis_keys),
        "bytes_written": dg.MetadataValue.int(report.bytes_written),
        # What the write cost (issue 22: only what changed is written).
        "redis_fields_written": dg.MetadataValue.int(report.redis_written),
        "redis_fields_deleted": dg.MetadataValue.int(report.redis_deleted),
        "dynamodb_items_written": dg.MetadataValue.int(report.dynamodb_written),
        "dynamodb_items_deleted": dg.MetadataValue.int(report.dynamodb_deleted),
        "s3_puts": dg.MetadataValue.int(len(report.s3_uris)),
        "s3_unchanged": dg.MetadataValue.int(report.s3_unchanged),
    }
    if report.s3_uris:
        meta["s3_uris"] = dg.MetadataValue.json(report.s3_uris)
    if report.notes:
        meta["notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return meta


def iam_write_metadata(report: WriteReport, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """One account's IAM write: the report, plus how many entries of each hash its refresh removed."""
    meta = report_metadata(report)
    meta["removed_entries"] = dg.MetadataValue.json({k: v["deleted"] for k, v in counts.items()})
    return meta


def config_account_metadata(report: AccountWrite) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "redis_key": dg.MetadataValue.text(report.redis_key),
        "redis_written": dg.MetadataValue.int(report.redis_written),
        "redis_deleted": dg.MetadataValue.int(report.redis_deleted),
        "kept_from_failed_regions": dg.MetadataValue.int(report.kept_from_failed_regions),
        "s3_uris": dg.MetadataValue.json(report.s3_uris),
        "redis_fields_written": dg.MetadataValue.int(report.redis_written),
        "dynamodb_items_written": dg.MetadataValue.int(report.dynamodb_written),
        "s3_puts": dg.MetadataValue.int(len(report.s3_uris)),
        "s3_unchanged": dg.MetadataValue.int(report.s3_unchanged),
    }
    if report.dynamodb_table:
        meta.update(
            {
                "dynamodb_table": dg.MetadataValue.text(report.dynamodb_table),
                "dynamodb_written": dg.MetadataValue.int(report.dynamodb_written),
                "dynamodb_deleted": dg.MetadataValue.int(report.dynamodb_deleted),
                "dynamodb_skipped_too_large": dg.MetadataValue.int(report.dynamodb_skipped),
            }
        )
    if report.notes:
        meta["notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return meta


def config_run_metadata(report: RunWrite) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "expired_swept": dg.MetadataValue.int(report.expired),
        "cached_resources_all_accounts": dg.MetadataValue.int(report.remaining),
    }
    if report.dynamodb_deleted:
        meta["expired_dynamodb_deleted"] = dg.MetadataValue.int(report.dynamodb_deleted)
    if report.without_ttl:
        meta["entries_without_ttl"] = dg.MetadataValue.int(report.without_ttl)
    if report.s3_uris:
        meta["combined_s3_uris"] = dg.MetadataValue.json(report.s3_uris)
    if report.notes:
        meta["combined_notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return meta
