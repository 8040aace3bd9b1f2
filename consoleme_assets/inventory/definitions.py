import dagster as dg

from .schedules import INVENTORY_ASSETS, inventory_every_45_minutes, inventory_job

defs = dg.Definitions(assets=INVENTORY_ASSETS, jobs=[inventory_job], schedules=[inventory_every_45_minutes])
