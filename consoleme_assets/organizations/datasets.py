"""SCPs and the organization structure, hourly as ConsoleMe did."""

from ..lib.datasets import HOURLY, Dataset
from ..observability import shapes
from ..stores.caches import JsonDataset

SERVICE_CONTROL_POLICIES = Dataset(
    name="service_control_policies",
    cadence=HOURLY,
    consoleme_tasks=("cache_scps_across_organizations",),
    storage=JsonDataset(lambda s: s.redis_keys.all_scps, lambda s: s.s3.scps),
    shape=shapes.SCPS,
)
ORGANIZATION_STRUCTURE = Dataset(
    name="organization_structure",
    cadence=HOURLY,
    consoleme_tasks=("cache_organization_structure",),
    storage=JsonDataset(lambda s: s.redis_keys.org_structure, lambda s: s.s3.org_structure),
    shape=shapes.ANY_OBJECT,
)

DATASETS = [SERVICE_CONTROL_POLICIES, ORGANIZATION_STRUCTURE]
