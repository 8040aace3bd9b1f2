"""AWS Config domain. Its resources live in consoleme_assets.definitions.build_resources:
"aws_config_io_manager" (AwsConfigIOManager) and "aws_config_source" (AwsConfigSource)."""

import dagster as dg

from .assets import aws_config_resources
from .schedules import aws_config_hourly, aws_config_job

defs = dg.Definitions(assets=[aws_config_resources], jobs=[aws_config_job], schedules=[aws_config_hourly])
