import dagster as dg

from .assets import policy_requests
from .schedules import policy_requests_every_5_minutes, policy_requests_job

defs = dg.Definitions(
    assets=[policy_requests],
    jobs=[policy_requests_job],
    schedules=[policy_requests_every_5_minutes],
)
