"""Where the inventory lists live, for the dataset declarations and for anything that must not import Dagster (the
floor benchmark measures the same writes without it)."""

from ..stores.caches import AccountLists

S3_BUCKETS_STORAGE = AccountLists(
    lambda s: s.redis_keys.s3_buckets, lambda s: s.s3.s3_buckets, lambda s: s.s3.s3_combined
)
MANAGED_POLICIES_STORAGE = AccountLists(lambda s: s.redis_keys.iam_managed_policies, lambda s: s.s3.managed_policies)
SQS_QUEUES_STORAGE = AccountLists(
    lambda s: s.redis_keys.sqs_queues, lambda s: s.s3.sqs_queues, lambda s: s.s3.sqs_combined
)
SNS_TOPICS_STORAGE = AccountLists(
    lambda s: s.redis_keys.sns_topics, lambda s: s.s3.sns_topics, lambda s: s.s3.sns_combined
)
