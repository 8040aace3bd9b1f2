"""The account list: ALL_AWS_ACCOUNTS, refreshed hourly as ConsoleMe did (cache_cloud_account_mapping)."""

from ..lib.datasets import HOURLY, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

AWS_ACCOUNTS = Dataset(
    name="aws_accounts",
    cadence=HOURLY,
    consoleme_tasks=("cache_cloud_account_mapping",),
    storage=JsonDataset(lambda s: s.redis_keys.all_accounts, lambda s: s.s3.accounts),
    shape=shapes.ACCOUNTS,
    not_empty_because="an organization has at least one account",
)

DATASETS = [AWS_ACCOUNTS]
