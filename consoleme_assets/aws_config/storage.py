"""Where the AWS Config cache lives, for the dataset declaration and for anything that must not import Dagster
(the floor benchmark measures the same writes without it)."""

from ..stores.caches import ArnHashes

STORAGE = ArnHashes(
    lambda s: {"resources": s.redis_keys.aws_config_resources},
    account_files=lambda s: {"all": s.s3.aws_config},
    combined_files=lambda s: {"all": s.s3.aws_config_combined},
    table=lambda s: s.tables.resource_cache,
)
