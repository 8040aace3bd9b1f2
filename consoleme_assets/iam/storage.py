"""Where IAM's caches live, for the dataset declaration and for anything that must not import Dagster (the
floor benchmark measures the same writes without it)."""

from ..stores.caches import ArnHashes
from ..stores.iam_cache import GAAD

# The one map of IAM's stores (spec §6.1): hashes, per-account and combined S3 files, the role table.
IAM_STORAGE = ArnHashes(
    lambda s: {
        "roles": s.redis_keys.iam_roles,
        "users": s.redis_keys.iam_users,
        "groups": s.redis_keys.iam_groups,
        "policies": s.redis_keys.iam_policies,
    },
    account_files=lambda s: {
        GAAD: s.s3.account_authorization_details,
        "roles": s.s3.iam_roles,
        "users": s.s3.iam_users,
        "groups": s.s3.iam_groups,
        "policies": s.s3.iam_policies,
    },
    combined_files=lambda s: {
        "roles": s.s3.all_roles,
        "users": s.s3.all_users,
        "groups": s.s3.all_groups,
        "policies": s.s3.all_policies,
    },
    table=lambda s: s.tables.iam_roles,
)
