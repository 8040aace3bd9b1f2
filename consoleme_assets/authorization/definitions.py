import dagster as dg

from .assets import credential_authorization_mappings
from .schedules import credential_mapping_every_5_minutes, credential_mapping_job

defs = dg.Definitions(
    assets=[credential_authorization_mappings],
    jobs=[credential_mapping_job],
    schedules=[credential_mapping_every_5_minutes],
)
