"""IAM refreshes every 45 minutes over all accounts, in one run (ConsoleMe: cache_iam_resources_across_accounts)."""

import dagster as dg

from ..cadences import EVERY_45_MINUTES, every_for_all_accounts
from .assets import iam_resources

iam_job = dg.define_asset_job("iam_job", selection=[iam_resources])

iam_every_45_minutes = every_for_all_accounts("iam_every_45_minutes", EVERY_45_MINUTES, iam_job, "iam")
