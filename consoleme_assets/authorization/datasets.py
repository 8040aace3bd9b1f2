"""The credential authorization mappings, rebuilt every 5 minutes; one ConsoleMe task wrote both."""

from ..lib.datasets import EVERY_5_MINUTES, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

CREDENTIAL_AUTHORIZATION_MAPPING = Dataset(
    name="credential_authorization_mapping",
    cadence=EVERY_5_MINUTES,
    consoleme_tasks=("cache_credential_authorization_mapping",),
    storage=JsonDataset(
        lambda s: s.redis_keys.credential_authorization_mapping, lambda s: s.s3.credential_authorization_mapping
    ),
    shape=shapes.CREDENTIAL_MAPPING,
)
REVERSE_AUTHORIZATION_MAPPING = Dataset(
    name="reverse_authorization_mapping",
    cadence=EVERY_5_MINUTES,
    consoleme_tasks=("cache_credential_authorization_mapping",),
    storage=JsonDataset(
        lambda s: s.redis_keys.reverse_authorization_mapping, lambda s: s.s3.reverse_authorization_mapping
    ),
    shape=shapes.REVERSE_MAPPING,
)

DATASETS = [CREDENTIAL_AUTHORIZATION_MAPPING, REVERSE_AUTHORIZATION_MAPPING]
