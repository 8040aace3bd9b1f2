"""ConsoleMe's account_resource_cache lists: one Redis hash per dataset, field = account id, value = the JSON list
of the account's buckets, queues, topics or managed policies; every 45 minutes, in one job."""

from __future__ import annotations

from collections.abc import Callable

from ..aws.inventory import (
    RegionalListing,
    enabled_regions,
    managed_policy_arns,
    s3_bucket_names,
    sns_topic_arns,
    sqs_queue_arns,
)
from ..lib.datasets import EVERY_45_MINUTES, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import account_list_of
from .storage import MANAGED_POLICIES_STORAGE, S3_BUCKETS_STORAGE, SNS_TOPICS_STORAGE, SQS_QUEUES_STORAGE

EVERY_ACCOUNT_HAS_A_FIELD = "every active account has a field in the hash"


def _tasks(resource: str) -> tuple[str, ...]:
    return (f"cache_{resource}_across_accounts", f"cache_{resource}_for_account")


def _regional(collector: Callable[..., RegionalListing]) -> Callable[[ConsoleMeResource, str], RegionalListing]:
    """(consoleme, account id) -> the account's listing over its enabled regions (resolved per account, §2.5)."""
    return lambda consoleme, account_id: collector(
        consoleme.sessions, account_id, enabled_regions(consoleme.settings, consoleme.sessions, account_id)
    )


def _inventory(name: str, description: str, **declared) -> Dataset:
    return Dataset(
        name=name,
        description=description,
        group="inventory",
        kinds={"aws", "redis", "s3"},
        cadence=EVERY_45_MINUTES,
        job="inventory",
        consoleme_tasks=_tasks(name),
        coverage=EVERY_ACCOUNT_HAS_A_FIELD,
        **declared,
    )


S3_BUCKETS = _inventory(
    "s3_buckets",
    "Bucket names of each account (S3 ListBuckets through the spoke role) -> Redis hash S3_BUCKETS "
    "(field = account id, value = JSON list of names), the per-account S3 file and the combined file.",
    fetch=lambda consoleme, account_id: s3_bucket_names(consoleme.sessions, account_id),
    storage=S3_BUCKETS_STORAGE,
    shape=account_list_of(None),  # S3 holds bucket names, not ARNs
    record_kind="bucket",
)
MANAGED_POLICIES = _inventory(
    "managed_policies",
    "ARNs of every managed policy each account sees (IAM ListPolicies, no Scope: AWS-managed and the "
    "account's own) -> Redis hash IAM_MANAGED_POLICIES (field = account id, value = JSON list of ARNs) and the "
    "per-account S3 file (ConsoleMe has no combined file for it). Unlike ConsoleMe, not limited to "
    "environment prod.",
    fetch=lambda consoleme, account_id: managed_policy_arns(consoleme.sessions, account_id),
    storage=MANAGED_POLICIES_STORAGE,
    shape=account_list_of("arn:aws:iam::"),
    not_empty_because="every account has AWS-managed policies",
    record_kind="managed_policy",
)
SQS_QUEUES = _inventory(
    "sqs_queues",
    "Queue ARNs of each account in its enabled regions (SQS ListQueues through the spoke role) -> Redis hash "
    "SQS_QUEUES (field = account id, value = JSON list of ARNs), the per-account S3 file and the combined "
    "file. A region that fails keeps its previously cached queues.",
    fetch=_regional(sqs_queue_arns),
    storage=SQS_QUEUES_STORAGE,
    shape=account_list_of("arn:aws:sqs:"),
    record_kind="queue",
)
SNS_TOPICS = _inventory(
    "sns_topics",
    "Topic ARNs of each account in its enabled regions (SNS ListTopics through the spoke role) -> Redis hash "
    "SNS_TOPICS (field = account id, value = JSON list of ARNs), the per-account S3 file and the combined "
    "file. A region that fails keeps its previously cached topics.",
    fetch=_regional(sns_topic_arns),
    storage=SNS_TOPICS_STORAGE,
    shape=account_list_of("arn:aws:sns:"),
    record_kind="topic",
)
