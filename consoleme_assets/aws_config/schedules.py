"""ConsoleMe refreshed AWS Config resources every hour, all accounts at once."""

import dagster as dg

from ..cadences import all_accounts_run_request
from .assets import aws_config_resources

aws_config_job = dg.define_asset_job("aws_config_job", selection=[aws_config_resources])


@dg.schedule(
    name="aws_config_hourly",
    # :10, not :00: aws_accounts_hourly runs at :00, so new accounts have their partition by then.
    cron_schedule="10 * * * *",
    target=aws_config_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def aws_config_hourly(context: dg.ScheduleEvaluationContext):
    return all_accounts_run_request(context, "aws_config_resources")
