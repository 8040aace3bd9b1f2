"""ConsoleMe ran cache_resource_templates_task and cache_self_service_typeahead_task every 30 minutes; here
one job refreshes both, templates first (the typeahead lists them)."""

import dagster as dg

from ..lib.cadences import every
from .assets import self_service_typeahead, templated_resources

self_service_job = dg.define_asset_job(
    "self_service_job", selection=[templated_resources, self_service_typeahead]
)

self_service_every_30_minutes = every("self_service_every_30_minutes", "*/30 * * * *", self_service_job)
