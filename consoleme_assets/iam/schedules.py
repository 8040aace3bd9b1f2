"""IAM refreshes every 45 minutes over all accounts, in one run (ConsoleMe: cache_iam_resources_across_accounts)."""

import dagster as dg

from ..cadences import EVERY_45_MINUTES, all_accounts_run_request
from .assets import iam_resources

iam_job = dg.define_asset_job("iam_job", selection=[iam_resources])


@dg.schedule(
    name="iam_every_45_minutes",
    cron_schedule=EVERY_45_MINUTES,
    target=iam_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def iam_every_45_minutes(context: dg.ScheduleEvaluationContext):
    return all_accounts_run_request(context, "iam")
