"""ConsoleMe rebuilt the credential authorization mapping every 5 minutes."""

import dagster as dg

from .assets import credential_authorization_mappings

credential_mapping_job = dg.define_asset_job("credential_mapping_job", selection=[credential_authorization_mappings])

credential_mapping_every_5_minutes = dg.ScheduleDefinition(
    name="credential_mapping_every_5_minutes",
    cron_schedule="*/5 * * * *",
    target=credential_mapping_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
