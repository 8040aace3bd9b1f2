"""ConsoleMe rebuilt the policies table every 30 minutes."""

import dagster as dg

from .assets import policies_table

policies_table_job = dg.define_asset_job("policies_table_job", selection=[policies_table])

policies_table_every_30_minutes = dg.ScheduleDefinition(
    name="policies_table_every_30_minutes",
    cron_schedule="*/30 * * * *",
    target=policies_table_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
