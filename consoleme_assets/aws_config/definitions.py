"""AWS Config domain. Its resources live in consoleme_assets.definitions.build_resources:
"aws_config_source" (AwsConfigSource); it writes through `ConsoleMeResource.config_cache()`."""

import dagster as dg

from .assets import aws_config_resources
from .schedules import aws_config_hourly, aws_config_job

defs = dg.Definitions(assets=[aws_config_resources], jobs=[aws_config_job], schedules=[aws_config_hourly])
