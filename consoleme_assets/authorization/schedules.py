"""ConsoleMe rebuilt the credential authorization mapping every 5 minutes."""

import dagster as dg

from ..cadences import every

from .assets import credential_authorization_mappings

credential_mapping_job = dg.define_asset_job("credential_mapping_job", selection=[credential_authorization_mappings])

credential_mapping_every_5_minutes = every("credential_mapping_every_5_minutes", "*/5 * * * *", credential_mapping_job)
