import dagster as dg

from .assets import self_service_typeahead, templated_resources
from .schedules import self_service_every_30_minutes, self_service_job

defs = dg.Definitions(
    assets=[templated_resources, self_service_typeahead],
    jobs=[self_service_job],
    schedules=[self_service_every_30_minutes],
)
