import dagster as dg

from .assets import organization_structure, service_control_policies
from .schedules import organizations_hourly, organizations_job

defs = dg.Definitions(
    assets=[service_control_policies, organization_structure],
    jobs=[organizations_job],
    schedules=[organizations_hourly],
)
