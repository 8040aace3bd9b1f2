"""ConsoleMe's account_resource_cache lists: one Redis hash per dataset, field = account id, every 45 minutes."""

from ..lib.datasets import EVERY_45_MINUTES, Dataset
from ..observability import shapes
from ..stores.caches import AccountListDataset

EVERY_ACCOUNT_HAS_A_FIELD = "every active account has a field in the hash"


def _tasks(resource: str) -> tuple[str, ...]:
    return (f"cache_{resource}_across_accounts", f"cache_{resource}_for_account")


S3_BUCKETS = Dataset(
    name="s3_buckets",
    cadence=EVERY_45_MINUTES,
    consoleme_tasks=_tasks("s3_buckets"),
    storage=AccountListDataset(
        lambda s: s.redis_keys.s3_buckets, lambda s: s.s3.s3_buckets, lambda s: s.s3.s3_combined
    ),
    shape=shapes.BUCKET_NAMES,
    coverage=EVERY_ACCOUNT_HAS_A_FIELD,
)
SQS_QUEUES = Dataset(
    name="sqs_queues",
    cadence=EVERY_45_MINUTES,
    consoleme_tasks=_tasks("sqs_queues"),
    storage=AccountListDataset(
        lambda s: s.redis_keys.sqs_queues, lambda s: s.s3.sqs_queues, lambda s: s.s3.sqs_combined
    ),
    shape=shapes.QUEUE_ARNS,
    coverage=EVERY_ACCOUNT_HAS_A_FIELD,
)
SNS_TOPICS = Dataset(
    name="sns_topics",
    cadence=EVERY_45_MINUTES,
    consoleme_tasks=_tasks("sns_topics"),
    storage=AccountListDataset(
        lambda s: s.redis_keys.sns_topics, lambda s: s.s3.sns_topics, lambda s: s.s3.sns_combined
    ),
    shape=shapes.TOPIC_ARNS,
    coverage=EVERY_ACCOUNT_HAS_A_FIELD,
)
MANAGED_POLICIES = Dataset(
    name="managed_policies",
    cadence=EVERY_45_MINUTES,
    consoleme_tasks=_tasks("managed_policies"),
    storage=AccountListDataset(lambda s: s.redis_keys.iam_managed_policies, lambda s: s.s3.managed_policies),
    shape=shapes.POLICY_ARNS,
    not_empty_because="every account has AWS-managed policies",
    coverage=EVERY_ACCOUNT_HAS_A_FIELD,
)

DATASETS = [S3_BUCKETS, MANAGED_POLICIES, SQS_QUEUES, SNS_TOPICS]
