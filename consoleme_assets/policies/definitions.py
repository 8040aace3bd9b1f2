import dagster as dg

from .assets import policies_table
from .schedules import policies_table_every_30_minutes, policies_table_job

defs = dg.Definitions(assets=[policies_table], jobs=[policies_table_job], schedules=[policies_table_every_30_minutes])
