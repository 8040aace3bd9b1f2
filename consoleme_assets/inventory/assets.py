"""Per-account resource lists: ConsoleMe's account_resource_cache (S3_BUCKETS, SQS_QUEUES, SNS_TOPICS,
IAM_MANAGED_POLICIES)."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from ..aws.inventory import (
    RegionalListing,
    enabled_regions,
    managed_policy_arns,
    s3_bucket_names,
    sns_topic_arns,
    sqs_queue_arns,
)
from ..lib.account_refresh import per_account_asset, refresh_accounts
from ..lib.datasets import Dataset
from ..lib.write_metadata import report_metadata
from ..resources import ConsoleMeResource
from .datasets import MANAGED_POLICIES, S3_BUCKETS, SNS_TOPICS, SQS_QUEUES

INVENTORY_GROUP = "inventory"


def inventory_asset(dataset: Dataset, description: str):
    return per_account_asset(dataset, description, group_name=INVENTORY_GROUP)


def list_preview(items: list[str], limit: int = 20) -> dict[str, Any]:
    return {
        "dagster/row_count": dg.MetadataValue.int(len(items)),
        "preview": dg.MetadataValue.json(items[:limit]),
    }


def describe_listing(records: list[str] | RegionalListing) -> dict[str, Any]:
    """Per-account metadata: count and preview, and for regional lists how each region went."""
    if not isinstance(records, RegionalListing):
        return list_preview(records)
    return {
        **list_preview(records.items),
        "regions_read": dg.MetadataValue.json(records.regions_read),
        "regions_failed": dg.MetadataValue.json(records.regions_failed),
        "carried_over": dg.MetadataValue.json(records.carried_over),
    }


def refresh_account_lists(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    dataset: str,
    from_aws: Callable[[str], list[str] | RegionalListing],
) -> Any:
    """Refresh an account-list dataset: from AWS in the primary region, from the primary's S3 copies in a
    replica; then write the combined S3 file (primary only) from every account now cached.

    `from_aws` returns the account's list, or a `RegionalListing` whose failed regions keep their ARNs
    from the account's previous cached list (read only when a region failed)."""
    caches = consoleme.caches()
    settings = consoleme.settings

    def collect(account_id: str) -> list[str] | RegionalListing:
        if settings.is_replica:
            return caches.account_list_from_s3(dataset, account_id)
        records = from_aws(account_id)
        if isinstance(records, RegionalListing) and records.regions_failed:
            previous = caches.read_account_lists(dataset, [account_id]).get(account_id, [])
            records = records.carrying_over(previous)
        return records

    def write(account_id: str, records: list[str] | RegionalListing) -> dict[str, Any]:
        if isinstance(records, RegionalListing):
            for region, error in records.regions_failed.items():  # logged here: this is the step's thread
                context.log.warning(
                    f"account {account_id}: {dataset} in {region} not refreshed, kept "
                    f"{records.carried_over.get(region, 0)} cached ARNs: {error}"
                )
            records = records.items
        return report_metadata(caches.write_account_list(dataset, account_id, records))

    def finalize(landed: list[str]) -> dict[str, Any]:
        report = caches.write_account_list_combined(dataset)
        return {"combined_s3_uris": dg.MetadataValue.json(report.s3_uris)} if report.s3_uris else {}

    source = "S3 copies of the primary region (replica)" if settings.is_replica else "AWS"
    return refresh_accounts(
        context,
        collect=collect,
        write=write,
        max_workers=settings.tuning.max_concurrent_accounts,
        describe=lambda records: {"source": dg.MetadataValue.text(source), **describe_listing(records)},
        finalize=finalize,
    )


def account_list_asset(
    dataset: Dataset, description: str, from_aws: Callable[[ConsoleMeResource, str], list[str] | RegionalListing]
) -> dg.AssetsDefinition:
    """A per-account list dataset (`refresh_account_lists`); `from_aws(consoleme, account_id)` reads one account."""

    @inventory_asset(dataset, description)
    def refresh(
        context: dg.AssetExecutionContext,
        consoleme: ConsoleMeResource,
    ):
        yield from refresh_account_lists(
            context, consoleme, dataset.name, from_aws=lambda account_id: from_aws(consoleme, account_id)
        )

    return refresh


def _regional(collector: Callable[..., RegionalListing]) -> Callable[[ConsoleMeResource, str], RegionalListing]:
    """(consoleme, account id) -> the account's listing over its enabled regions (resolved per account, §2.5)."""
    return lambda consoleme, account_id: collector(
        consoleme.sessions, account_id, enabled_regions(consoleme.settings, consoleme.sessions, account_id)
    )


s3_buckets = account_list_asset(
    S3_BUCKETS,
    "Bucket names of each account (S3 ListBuckets through the spoke role) -> Redis hash S3_BUCKETS "
    "(field = account id, value = JSON list of names), the per-account S3 file and the combined file.",
    lambda consoleme, account_id: s3_bucket_names(consoleme.sessions, account_id),
)

managed_policies = account_list_asset(
    MANAGED_POLICIES,
    "ARNs of every managed policy each account sees (IAM ListPolicies, no Scope: AWS-managed and the "
    "account's own) -> Redis hash IAM_MANAGED_POLICIES (field = account id, value = JSON list of ARNs) and the "
    "per-account S3 file (ConsoleMe has no combined file for it). Unlike ConsoleMe, not limited to "
    "environment prod.",
    lambda consoleme, account_id: managed_policy_arns(consoleme.sessions, account_id),
)

sqs_queues = account_list_asset(
    SQS_QUEUES,
    "Queue ARNs of each account in its enabled regions (SQS ListQueues through the spoke role) -> Redis hash "
    "SQS_QUEUES (field = account id, value = JSON list of ARNs), the per-account S3 file and the combined "
    "file. A region that fails keeps its previously cached queues.",
    _regional(sqs_queue_arns),
)

sns_topics = account_list_asset(
    SNS_TOPICS,
    "Topic ARNs of each account in its enabled regions (SNS ListTopics through the spoke role) -> Redis hash "
    "SNS_TOPICS (field = account id, value = JSON list of ARNs), the per-account S3 file and the combined "
    "file. A region that fails keeps its previously cached topics.",
    _regional(sns_topic_arns),
)
