"""ConsoleMe rebuilt the policies table every 30 minutes."""

import dagster as dg

from ..cadences import every

from .assets import policies_table

policies_table_job = dg.define_asset_job("policies_table_job", selection=[policies_table])

policies_table_every_30_minutes = every("policies_table_every_30_minutes", "*/30 * * * *", policies_table_job)
