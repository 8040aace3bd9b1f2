"""CloudTrail's datasets: the denies drained from the queue into DynamoDB, and the error counts per principal."""

from ..lib.datasets import HOURLY, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

# Drained every minute when enabled (by the sensor); the hourly run keeps it fresh when quiet. No cache of its own.
CLOUDTRAIL_DENIES = Dataset(name="cloudtrail_denies", cadence=HOURLY)
CLOUDTRAIL_ERRORS_BY_ARN = Dataset(
    name="cloudtrail_errors_by_arn",
    cadence=HOURLY,
    consoleme_tasks=("cache_cloudtrail_errors_by_arn",),
    # ConsoleMe keeps no S3 copy of the CloudTrail error counts, and lets them expire after a day.
    storage=JsonDataset(lambda s: s.redis_keys.cloudtrail_errors_by_arn, None, expire_seconds=86400),
    shape=shapes.ERROR_COUNTS,
)

DATASETS = [CLOUDTRAIL_DENIES, CLOUDTRAIL_ERRORS_BY_ARN]
