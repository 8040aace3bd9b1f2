"""Per-account resource lists: ConsoleMe's account_resource_cache (S3_BUCKETS, ...)."""


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


def per_account_asset(name: str, description: str):
    """The shared shape of a per-account dataset: account partitions, many accounts per run."""
    return dg.asset(
        name=name,
        description=description,
        group_name=INVENTORY_GROUP,
        partitions_def=aws_accounts_partitions,
        # One run for any number of accounts; accounts are fetched concurrently inside it.
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,
        io_manager_key="account_lists_io_manager",
        deps=[aws_accounts],
        kinds={"aws", "redis", "s3"},
        metadata={"consoleme_dataset": name},
        pool="aws_api",
        tags={"consoleme_assets/dataset": name},
    )


@per_account_asset(
    "s3_buckets",
    "Bucket names of each account (S3 ListBuckets through the spoke role) -> Redis hash S3_BUCKETS "
    "(field = account id, value = JSON list of names) and the per-account S3 file.",
)
def s3_buckets(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    account_lists_io_manager: dg.ResourceParam[AccountListIOManager],
):
    yield from refresh_accounts(
        context,
        collect=lambda account_id: s3_bucket_names(consoleme.sessions, account_id),
        write=lambda account_id, names: account_lists_io_manager.write_account("s3_buckets", account_id, names),
        max_workers=consoleme.settings.tuning.max_concurrent_accounts,
        describe=list_preview,
    )
