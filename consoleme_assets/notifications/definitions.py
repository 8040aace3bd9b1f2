import dagster as dg

from .assets import notifications
from .schedules import notifications_every_10_minutes, notifications_job

defs = dg.Definitions(assets=[notifications], jobs=[notifications_job], schedules=[notifications_every_10_minutes])
