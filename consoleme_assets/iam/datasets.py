"""IAM's datasets: the roles, users, groups and policies of every account, and the role quota usage."""

from ..lib.datasets import EVERY_45_MINUTES, Dataset, daily_at
from ..observability import shapes
from ..stores.caches import ArnHashes

IAM_RESOURCES = Dataset(
    name="iam_resources",
    cadence=EVERY_45_MINUTES,
    consoleme_tasks=("cache_iam_resources_across_accounts", "cache_iam_resources_for_account"),
    storage=ArnHashes(
        lambda s: {
            "roles": s.redis_keys.iam_roles,
            "users": s.redis_keys.iam_users,
            "groups": s.redis_keys.iam_groups,
            "policies": s.redis_keys.iam_policies,
        }
    ),
    shape=shapes.IAM_ENTRIES,
    not_empty_because="every account has roles (at least the spoke role)",
    coverage="every active account has its roles (and the users, groups and policies its last refresh found) in "
    "the ARN-keyed IAM hashes",
)

# No cache: the ratios are in the materialization's metadata (checked by iam_role_limits_within_quota).
IAM_ROLE_LIMITS = Dataset(name="iam_role_limits", cadence=daily_at(6), consoleme_tasks=("get_iam_role_limit",))

DATASETS = [IAM_RESOURCES, IAM_ROLE_LIMITS]
