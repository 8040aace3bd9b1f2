"""Helpers shared by the IO managers."""

from typing import Any

import dagster as dg

from ..resources import ConsoleMeResource
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


class PerAccountIOManager(dg.ConfigurableIOManager):
    """Base of the per-account IO managers. Their assets write each account through the manager's
    `write_account` and yield its AssetMaterialization, so a value returned as an output is a bug."""

    consoleme: dg.ResourceDependency[ConsoleMeResource]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        raise dg.DagsterInvariantViolationError(
            f"{context.asset_key.to_user_string()}: per-account assets must yield AssetMaterialization per account "
            f"(via {type(self).__name__}.write_account), not return a value"
        )
