import dagster as dg

from .assets import s3_buckets
from .schedules import inventory_every_45_minutes, inventory_job

defs = dg.Definitions(assets=[s3_buckets], jobs=[inventory_job], schedules=[inventory_every_45_minutes])
