import dagster as dg

from .assets import iam_resources
from .jobs import refresh_iam_role_job
from .schedules import iam_every_45_minutes, iam_job

defs = dg.Definitions(
    assets=[iam_resources], jobs=[iam_job, refresh_iam_role_job], schedules=[iam_every_45_minutes]
)
