"""ConsoleMe refreshed SCPs and the organization structure hourly; one hourly run does both."""

import dagster as dg

from .assets import organization_structure, service_control_policies

organizations_job = dg.define_asset_job(
    "organizations_job", selection=[service_control_policies, organization_structure]
)

organizations_hourly = dg.ScheduleDefinition(
    name="organizations_hourly",
    cron_schedule="0 * * * *",
    target=organizations_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
