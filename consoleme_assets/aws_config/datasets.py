"""AWS Config resources: AWSCONFIG_RESOURCE_CACHE (field = ARN), hourly as ConsoleMe did."""

from ..lib.datasets import Dataset, hourly_at
from ..observability import shapes
from ..stores.caches import ArnHashes

AWS_CONFIG_RESOURCES = Dataset(
    name="aws_config_resources",
    # :10, not :00: aws_accounts refreshes at :00, so new accounts have their partition by then.
    cadence=hourly_at(10),
    consoleme_tasks=("cache_resources_from_aws_config_across_accounts", "cache_resources_from_aws_config_for_account"),
    storage=ArnHashes(lambda s: {"resources": s.redis_keys.aws_config_resources}),
    shape=shapes.CONFIG_ENTRIES,
)

DATASETS = [AWS_CONFIG_RESOURCES]
