"""ConsoleMe rebuilt the policies table every 30 minutes."""

from ..lib.cadences import dataset_job, every

from .assets import policies_table

policies_table_job = dataset_job("policies_table_job", [policies_table])

policies_table_every_30_minutes = every("policies_table_every_30_minutes", "*/30 * * * *", policies_table_job)
