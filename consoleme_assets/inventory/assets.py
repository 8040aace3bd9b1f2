"""Per-account resource lists: ConsoleMe's account_resource_cache (S3_BUCKETS, ...)."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from ..account_refresh import refresh_accounts
from ..accounts.assets import aws_accounts
from ..aws.inventory import s3_bucket_names
from ..io_managers import AccountListIOManager
from ..partitions import aws_accounts_partitions
from ..resources import ConsoleMeResource

INVENTORY_GROUP = "inventory"


def list_preview(items: list[str], limit: int = 20) -> dict[str, Any]:
    return {
        "dagster/row_count": dg.MetadataValue.int(len(items)),
        "preview": dg.MetadataValue.json(items[:limit]),
    }


def per_account_asset(name: str, description: str, group_name: str = INVENTORY_GROUP, **kwargs: Any):
    """The shared shape of a per-account dataset: account partitions, many accounts per run."""
    return dg.asset(
        name=name,
        description=description,
        group_name=group_name,
        partitions_def=aws_accounts_partitions,
        # One run for any number of accounts; accounts are fetched concurrently inside it.
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,
        io_manager_key=kwargs.pop("io_manager_key", "account_lists_io_manager"),
        deps=[aws_accounts],
        kinds={"aws", "redis", "s3"},
        metadata={"consoleme_dataset": name},
        pool="aws_api",
        tags={"consoleme_assets/dataset": name},
        **kwargs,
    )


def refresh_account_lists(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    io_manager: AccountListIOManager,
    dataset: str,
    from_aws: Callable[[str], list[str]],
) -> Any:
    """Refresh an account-list dataset: from AWS in the primary region, from the primary's S3 copies in a
    replica; then write the combined S3 file (primary only) from every account now cached."""
    caches = consoleme.caches()
    settings = consoleme.settings
    collect = (lambda a: caches.account_list_from_s3(dataset, a)) if settings.is_replica else from_aws

    def finalize(landed: list[str]) -> dict[str, Any]:
        report = caches.write_account_list_combined(dataset)
        return {"combined_s3_uris": dg.MetadataValue.json(report.s3_uris)} if report.s3_uris else {}

    return refresh_accounts(
        context,
        collect=collect,
        write=lambda account_id, items: io_manager.write_account(dataset, account_id, items),
        max_workers=settings.tuning.max_concurrent_accounts,
        describe=list_preview,
        finalize=finalize,
    )


@per_account_asset(
    "s3_buckets",
    "Bucket names of each account (S3 ListBuckets through the spoke role) -> Redis hash S3_BUCKETS "
    "(field = account id, value = JSON list of names), the per-account S3 file and the combined file.",
)
def s3_buckets(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    account_lists_io_manager: dg.ResourceParam[AccountListIOManager],
):
    yield from refresh_account_lists(
        context, consoleme, account_lists_io_manager, "s3_buckets",
        from_aws=lambda account_id: s3_bucket_names(consoleme.sessions, account_id),
    )
