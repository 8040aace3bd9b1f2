"""AWS Config resources (AWSCONFIG_RESOURCE_CACHE + its S3 files + DynamoDB consoleme_resource_cache)."""

from typing import Any

import dagster as dg

from ..stores.config_cache import AccountWrite, ConfigBatch, ConfigCacheStore, RunWrite
from .common import PerAccountIOManager


def account_write_metadata(report: AccountWrite) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "redis_key": dg.MetadataValue.text(report.redis_key),
        "redis_written": dg.MetadataValue.int(report.redis_written),
        "redis_deleted": dg.MetadataValue.int(report.redis_deleted),
        "kept_from_failed_regions": dg.MetadataValue.int(report.kept_from_failed_regions),
        "s3_uris": dg.MetadataValue.json(report.s3_uris),
    }
    if report.dynamodb_table:
        meta.update({
            "dynamodb_table": dg.MetadataValue.text(report.dynamodb_table),
            "dynamodb_written": dg.MetadataValue.int(report.dynamodb_written),
            "dynamodb_deleted": dg.MetadataValue.int(report.dynamodb_deleted),
            "dynamodb_skipped_too_large": dg.MetadataValue.int(report.dynamodb_skipped),
        })  # fmt: skip
    if report.notes:
        meta["notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return meta


def run_write_metadata(report: RunWrite) -> dict[str, Any]:
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


class AwsConfigIOManager(PerAccountIOManager):
    """AWS Config resources per account: Redis hash field = ARN, per-account and combined S3 files, DynamoDB.

    Like the other per-account datasets, the asset writes each account through `write_account` and yields its
    AssetMaterialization; `handle_output` refuses values. `load_input` serves `{account_id: {arn: item}}`.
    """


    def store(self) -> ConfigCacheStore:
        return ConfigCacheStore(self.consoleme.caches())

    def write_account(self, batch: ConfigBatch) -> dict[str, Any]:
        """Replace one account's entries (Redis, DynamoDB, S3 as the region allows); returns metadata."""
        return account_write_metadata(self.store().write_account(batch))

    def read_primary_copy(self, account_id: str) -> ConfigBatch:
        """Replica regions: the account's entries from the primary's per-account S3 file."""
        return self.store().read_primary_copy(account_id)

    def finish_run(self) -> dict[str, Any]:
        """After all accounts: the ttl sweep, then the combined S3 file (primary only)."""
        store = self.store()
        return run_write_metadata(store.write_combined(store.sweep_expired()))

    def load_input(self, context: dg.InputContext) -> Any:
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else None
        values = self.store().read_accounts(keys)
        if context.has_partition_key and keys is not None and len(keys) == 1:
            return values.get(keys[0], {})  # an account may have no AWS Config resources at all
        return values  # accounts with nothing cached are absent
