"""The policies table: ALL_POLICIES, rebuilt every 30 minutes as ConsoleMe did (cache_policies_table_details)."""

from ..lib.datasets import EVERY_30_MINUTES, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

POLICIES_TABLE = Dataset(
    name="policies_table",
    cadence=EVERY_30_MINUTES,
    consoleme_tasks=("cache_policies_table_details",),
    storage=JsonDataset(lambda s: s.redis_keys.all_policies, lambda s: s.s3.policies_table),
    shape=shapes.POLICY_ROWS,
)

DATASETS = [POLICIES_TABLE]
