"""IO managers over ConsoleMe's caches: they own every Redis/S3 write and read of the assets.

Per-account datasets are refreshed many accounts per run, and one account failing must not mark the
others failed, nor mark itself materialized. Dagster records an `Output` for every partition of a range
run, so per-account assets instead call `write_account` for each account that succeeded and yield its
`AssetMaterialization`; `handle_output` is never used for them. `load_input` serves downstream assets.
"""


from typing import Any

import dagster as dg

from .resources import ConsoleMeResource
from .stores.caches import WriteReport


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


def _dataset_of(metadata: Any, asset_key: dg.AssetKey) -> str:
    name = (metadata or {}).get("consoleme_dataset")
    if name is None:
        raise dg.DagsterInvariantViolationError(f"asset {asset_key.to_user_string()} has no 'consoleme_dataset' metadata")
    return getattr(name, "value", name)


class AccountListIOManager(dg.ConfigurableIOManager):
    """Per-account lists: hash field = account id -> JSON list (S3_BUCKETS, SQS_QUEUES, ...) + S3 file."""

    consoleme: dg.ResourceDependency[ConsoleMeResource]

    def write_account(self, dataset: str, account_id: str, items: list[str]) -> dict[str, Any]:
        """Replace one account's list; returns materialization metadata."""
        report = self.consoleme.caches().write_account_list(dataset, account_id, items)
        return report_metadata(report)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        raise dg.DagsterInvariantViolationError(
            f"{context.asset_key.to_user_string()}: per-account assets must yield AssetMaterialization per account "
            "(via AccountListIOManager.write_account), not return a value"
        )

    def load_input(self, context: dg.InputContext) -> Any:
        dataset = _dataset_of(context.upstream_output.definition_metadata, context.asset_key)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else None
        values = self.consoleme.caches().read_account_lists(dataset, keys)
        if context.has_partition_key and keys is not None and len(keys) == 1:
            if keys[0] not in values:
                raise dg.DagsterInvariantViolationError(
                    f"{context.asset_key.to_user_string()}: account {keys[0]} has no cached data yet"
                )
            return values[keys[0]]
        return values  # accounts never refreshed (or failed) are absent


class JsonCacheIOManager(dg.ConfigurableIOManager):
    """Unpartitioned datasets stored as one Redis string (stamped in LAST_UPDATED) plus its S3 copy."""

    consoleme: dg.ResourceDependency[ConsoleMeResource]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        dataset = _dataset_of(context.definition_metadata, context.asset_key)
        report = self.consoleme.caches().write_json(dataset, obj)
        context.add_output_metadata(report_metadata(report))

    def load_input(self, context: dg.InputContext) -> Any:
        dataset = _dataset_of(context.upstream_output.definition_metadata, context.asset_key)
        data = self.consoleme.caches().read_json(dataset)
        if data is None:
            raise dg.DagsterInvariantViolationError(f"{context.asset_key.to_user_string()}: nothing cached yet")
        return data
