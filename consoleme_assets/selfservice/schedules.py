"""ConsoleMe ran cache_resource_templates_task and cache_self_service_typeahead_task every 30 minutes; here
one job refreshes both, templates first (the typeahead lists them)."""

import dagster as dg

from ..lib.cadences import dataset_schedule
from .assets import self_service_typeahead, templated_resources
from .datasets import DATASETS

self_service_job = dg.define_asset_job("self_service_job", selection=[templated_resources, self_service_typeahead])

self_service_every_30_minutes = dataset_schedule("self_service_every_30_minutes", self_service_job, DATASETS)
