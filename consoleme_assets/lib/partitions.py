"""The account partitions every per-account dataset shares, and keeping them in step with discovery."""

from __future__ import annotations

import dagster as dg

aws_accounts_partitions = dg.DynamicPartitionsDefinition(name="aws_accounts")


def partition_changes(known: list[str], active: list[str]) -> tuple[list[str], list[str]]:
    """(to add, to remove) so the partitions equal the active accounts."""
    known_set, active_set = set(known), set(active)
    return sorted(active_set - known_set), sorted(known_set - active_set)


def sync_account_partitions(instance: dg.DagsterInstance, active: list[str]) -> tuple[list[str], list[str]]:
    """Apply the changes directly on the instance (used when `aws_accounts` is materialized)."""
    added, removed = partition_changes(instance.get_dynamic_partitions(aws_accounts_partitions.name), active)
    if added:
        instance.add_dynamic_partitions(aws_accounts_partitions.name, added)
    for account_id in removed:
        instance.delete_dynamic_partition(aws_accounts_partitions.name, account_id)
    return added, removed
