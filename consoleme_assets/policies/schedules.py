"""ConsoleMe rebuilt the policies table every 30 minutes."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import policies_table
from .datasets import POLICIES_TABLE

policies_table_job = dataset_job("policies_table_job", [policies_table])

policies_table_every_30_minutes = dataset_schedule(
    "policies_table_every_30_minutes", policies_table_job, [POLICIES_TABLE]
)
