"""ALL_POLICY_REQUESTS: ConsoleMe's beat ran cache_policy_requests every 5 minutes (its docs say hourly; the code
says 5 minutes)."""

from ..lib.datasets import EVERY_5_MINUTES, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

POLICY_REQUESTS = Dataset(
    name="policy_requests",
    cadence=EVERY_5_MINUTES,
    consoleme_tasks=("cache_policy_requests",),
    storage=JsonDataset(lambda s: s.redis_keys.all_policy_requests, lambda s: s.s3.policy_requests),
    shape=shapes.POLICY_REQUESTS,
)

DATASETS = [POLICY_REQUESTS]
