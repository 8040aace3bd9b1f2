"""Per-account lists (S3_BUCKETS, SQS_QUEUES, SNS_TOPICS, IAM_MANAGED_POLICIES)."""

from typing import Any

import dagster as dg

from .common import PerAccountIOManager, dataset_of, report_metadata


class AccountListIOManager(PerAccountIOManager):
    """Per-account lists: hash field = account id -> JSON list (S3_BUCKETS, SQS_QUEUES, ...) + S3 file."""

    def write_account(self, dataset: str, account_id: str, items: list[str]) -> dict[str, Any]:
        """Replace one account's list; returns materialization metadata."""
        report = self.consoleme.caches().write_account_list(dataset, account_id, items)
        return report_metadata(report)

    def load_input(self, context: dg.InputContext) -> Any:
        dataset = dataset_of(context.upstream_output.definition_metadata, context.asset_key)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else None
        values = self.consoleme.caches().read_account_lists(dataset, keys)
        if context.has_partition_key and keys is not None and len(keys) == 1:
            if keys[0] not in values:
                raise dg.DagsterInvariantViolationError(
                    f"{context.asset_key.to_user_string()}: account {keys[0]} has no cached data yet"
                )
            return values[keys[0]]
        return values  # accounts never refreshed (or failed) are absent
