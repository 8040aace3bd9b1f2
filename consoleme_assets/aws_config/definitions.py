import dagster as dg

from ..aws.config_resources import AwsConfigSource
from .assets import aws_config_resources
from .schedules import aws_config_hourly, aws_config_job

defs = dg.Definitions(
    assets=[aws_config_resources],
    jobs=[aws_config_job],
    schedules=[aws_config_hourly],
    resources={"aws_config_source": AwsConfigSource()},
)
