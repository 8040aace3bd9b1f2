import dagster as dg

from .assets import iam_resources
from .cleanup import iam_cache_cleanup_every_6_hours, iam_cache_cleanup_job
from .jobs import refresh_iam_role_job, role_changes_job
from .limits import iam_role_limits, iam_role_limits_daily, iam_role_limits_job, iam_role_limits_within_quota
from .schedules import iam_every_45_minutes, iam_job
from .sensors import credential_mapping_after_role_changes, role_change_sensor

defs = dg.Definitions(
    assets=[iam_resources, iam_role_limits],
    asset_checks=[iam_role_limits_within_quota],
    jobs=[iam_job, refresh_iam_role_job, role_changes_job, iam_cache_cleanup_job, iam_role_limits_job],
    schedules=[iam_every_45_minutes, iam_cache_cleanup_every_6_hours, iam_role_limits_daily],
    sensors=[role_change_sensor, credential_mapping_after_role_changes],
)
