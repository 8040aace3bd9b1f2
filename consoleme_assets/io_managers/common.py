"""Helpers shared by the IO managers."""

from typing import Any

import dagster as dg

from ..stores.caches import WriteReport


def report_metadata(report: WriteReport) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "redis_keys": dg.MetadataValue.json(report.redis_keys),
        "bytes_written": dg.MetadataValue.int(report.bytes_written),
    }
    if report.s3_uris:
        meta["s3_uris"] = dg.MetadataValue.json(report.s3_uris)
    if report.notes:
        meta["notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return meta


def dataset_of(metadata: Any, asset_key: dg.AssetKey) -> str:
    name = (metadata or {}).get("consoleme_dataset")
    if name is None:
        raise dg.DagsterInvariantViolationError(f"asset {asset_key.to_user_string()} has no 'consoleme_dataset' metadata")
    return getattr(name, "value", name)
