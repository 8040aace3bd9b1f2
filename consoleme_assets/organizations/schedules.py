"""ConsoleMe refreshed SCPs and the organization structure hourly; one hourly run does both."""

import dagster as dg

from ..cadences import every

from .assets import organization_structure, service_control_policies

organizations_job = dg.define_asset_job(
    "organizations_job", selection=[service_control_policies, organization_structure]
)

organizations_hourly = every("organizations_hourly", "0 * * * *", organizations_job)
