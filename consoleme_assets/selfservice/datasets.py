"""Self-service caches, every 30 minutes as ConsoleMe's cache_resource_templates_task and
cache_self_service_typeahead_task ran (no compatibility keys: ConsoleMe's alerts did not watch them)."""

from ..lib.datasets import EVERY_30_MINUTES, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

TEMPLATED_RESOURCES = Dataset(
    name="templated_resources",
    cadence=EVERY_30_MINUTES,
    storage=JsonDataset(lambda s: s.redis_keys.templated_resources, lambda s: s.s3.templated_resources),
    shape=shapes.TEMPLATED_RESOURCES,
)
SELF_SERVICE_TYPEAHEAD = Dataset(
    name="self_service_typeahead",
    cadence=EVERY_30_MINUTES,
    storage=JsonDataset(lambda s: s.redis_keys.self_service_typeahead, lambda s: s.s3.self_service_typeahead),
    shape=shapes.TYPEAHEAD,
)

DATASETS = [TEMPLATED_RESOURCES, SELF_SERVICE_TYPEAHEAD]
