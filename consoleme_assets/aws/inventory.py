"""Collectors for the per-account resource lists (ConsoleMe's account_resource_cache).

Plain functions over an `AwsSessions`; no Dagster and no cache access here. Regional lists (SQS, SNS)
come back as a `RegionalListing` that says which regions were read and which failed, so the caller can
keep a failed region's previous ARNs instead of dropping them (`carry_over_failed_regions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from botocore.exceptions import UnknownRegionError

from ..settings import Settings
from .arns import region_of
from .regions import REGION_ERRORS, read_regions
from .sessions import AwsSessions, describe_aws_error

# Items per page where the API takes a page size: IAM ListPolicies (MaxItems) and SQS ListQueues
# (MaxResults); 1000 is the maximum of both. SNS ListTopics has no page size (AWS serves 100 a page).
# Module-level so tests can lower it and prove that every page is read.
PAGE_SIZE = 1000

# DescribeRegions without AllRegions lists only the account's enabled regions; checking the status as well
# keeps that true for emulators that list every region.
_ENABLED_OPT_IN_STATUSES = frozenset({"opt-in-not-required", "opted-in"})


def s3_bucket_names(sessions: AwsSessions, account_id: str) -> list[str]:
    """Names of every bucket the account owns (ListBuckets is global: one call covers all regions)."""
    client = sessions.client("s3", account_id=account_id)
    names: list[str] = []
    for page in client.get_paginator("list_buckets").paginate():
        names.extend(b["Name"] for b in page.get("Buckets", []))
    return sorted(names)


def managed_policy_arns(sessions: AwsSessions, account_id: str) -> list[str]:
    """ARNs of every managed policy the account sees: IAM ListPolicies with no Scope, i.e. AWS-managed and
    the account's own (ConsoleMe's cloudaux `get_all_managed_policies`). IAM is global: one region."""
    client = sessions.client("iam", account_id=account_id)
    arns: list[str] = []
    for page in client.get_paginator("list_policies").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        arns.extend(p["Arn"] for p in page.get("Policies", []))
    return sorted(set(arns))


# -- regions -----------------------------------------------------------------------------------------


class RegionDiscoveryError(RuntimeError):
    """The account's enabled regions could not be listed (EC2 DescribeRegions refused)."""


def enabled_regions(settings: Settings, sessions: AwsSessions, account_id: str) -> list[str]:
    """The regions to list SQS/SNS in (ConsoleMe's get_enabled_regions_for_account): the account's
    `get_enabled_regions_for_account.<id>`, else `celery.sync_regions`, else EC2 DescribeRegions through the
    spoke role (enabled regions only). An empty configured list counts as unset, as in ConsoleMe."""
    configured = settings.enabled_regions_by_account.get(account_id) or settings.sync_regions
    if configured:
        return list(dict.fromkeys(configured))  # keep the order, drop repeats
    home = settings.region
    try:
        response = sessions.client("ec2", account_id=account_id, region=home).describe_regions()
    except REGION_ERRORS as exc:
        raise RegionDiscoveryError(
            f"account {account_id}: cannot list enabled regions (EC2 DescribeRegions in {home}): "
            f"{describe_aws_error(exc)}"
        ) from None
    home_partition = partition_of(sessions, home)
    regions = {
        r["RegionName"]
        for r in response.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") in _ENABLED_OPT_IN_STATUSES
        # another partition's regions (us-gov, cn) cannot be reached with this partition's credentials
        and partition_of(sessions, r["RegionName"]) in (home_partition, None)
    }
    return sorted(regions)


def partition_of(sessions: AwsSessions, region: str) -> str | None:
    """`aws`, `aws-us-gov`, `aws-cn`, ... for a region; None if botocore does not know it."""
    try:
        return sessions.hub.get_partition_for_region(region)
    except UnknownRegionError:  # a region newer than botocore's data: do not guess
        return None


def region_of_arn(arn: str) -> str:
    """The region field of an ARN (`arn:aws:sqs:<region>:<account>:<name>`), "" if there is none."""
    return region_of(arn) or ""


# -- regional listings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionalListing:
    """One account's ARNs over its regions, and how each region went."""

    account_id: str
    items: list[str]  # sorted, unique
    regions_read: list[str]
    regions_failed: dict[str, str] = field(default_factory=dict)  # region -> AWS error text
    carried_over: dict[str, int] = field(default_factory=dict)  # failed region -> ARNs kept from before

    def carrying_over(self, previous: Iterable[str]) -> RegionalListing:
        """This listing plus the failed regions' ARNs from the account's previous cached list."""
        items, counts = carry_over_failed_regions(self.items, previous, self.regions_failed)
        return replace(self, items=items, carried_over=counts)


def carry_over_failed_regions(
    new: Iterable[str], previous: Iterable[str], failed_regions: Iterable[str]
) -> tuple[list[str], dict[str, int]]:
    """`new` plus the ARNs of `previous` that lie in a failed region (a bad hour in one region must not
    drop its resources from the cache). Returns the sorted union and, per failed region, how many ARNs
    were carried over. ARNs of regions that were read are never carried: there, `new` is the truth."""
    failed = set(failed_regions)
    fresh = set(new)
    kept = {arn for arn in previous if region_of_arn(arn) in failed and arn not in fresh}
    per_region = Counter(region_of_arn(arn) for arn in kept)
    return sorted(fresh | kept), {region: per_region.get(region, 0) for region in sorted(failed)}


def list_by_region(
    account_id: str, regions: Iterable[str], what: str, list_region: Callable[[str], list[str]]
) -> RegionalListing:
    """Run `list_region` for each region, in turn (see `regions.read_regions`: a region that errors is recorded
    and skipped, unless every region errors)."""
    reads = read_regions(account_id, regions, what, list_region)
    items = {arn for arns in reads.found.values() for arn in arns}
    return RegionalListing(
        account_id=account_id, items=sorted(items), regions_read=reads.regions_read, regions_failed=reads.failed
    )


def sqs_queue_arns_in_region(sessions: AwsSessions, account_id: str, region: str) -> list[str]:
    """Queue ARNs in one region, built from ListQueues' URLs as ConsoleMe does (no per-queue calls)."""
    client = sessions.client("sqs", account_id=account_id, region=region)
    prefix = f"arn:{partition_of(sessions, region) or 'aws'}:sqs:{region}:{account_id}:"
    arns: list[str] = []
    for page in client.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        # https://sqs.<region>.amazonaws.com/<account>/<name>: the name is the last path segment
        arns.extend(prefix + url.rstrip("/").rsplit("/", 1)[-1] for url in page.get("QueueUrls", []))
    return arns


def sns_topic_arns_in_region(sessions: AwsSessions, account_id: str, region: str) -> list[str]:
    """Topic ARNs in one region (ListTopics, paginated on NextToken; it has no page size)."""
    client = sessions.client("sns", account_id=account_id, region=region)
    return [t["TopicArn"] for page in client.get_paginator("list_topics").paginate() for t in page.get("Topics", [])]


def sqs_queue_arns(sessions: AwsSessions, account_id: str, regions: Iterable[str]) -> RegionalListing:
    """The account's queue ARNs over `regions` (ConsoleMe's cache_sqs_queues_for_account)."""
    return list_by_region(
        account_id, regions, "SQS queues", lambda region: sqs_queue_arns_in_region(sessions, account_id, region)
    )


def sns_topic_arns(sessions: AwsSessions, account_id: str, regions: Iterable[str]) -> RegionalListing:
    """The account's topic ARNs over `regions` (ConsoleMe's cache_sns_topics_for_account)."""
    return list_by_region(
        account_id, regions, "SNS topics", lambda region: sns_topic_arns_in_region(sessions, account_id, region)
    )
