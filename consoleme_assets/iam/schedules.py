"""IAM refreshes every 45 minutes over all accounts, in one run (ConsoleMe: cache_iam_resources_across_accounts)."""

from ..lib.cadences import EVERY_45_MINUTES, dataset_job, every_for_all_accounts
from .assets import iam_resources

iam_job = dataset_job("iam_job", [iam_resources])

iam_every_45_minutes = every_for_all_accounts("iam_every_45_minutes", EVERY_45_MINUTES, iam_job)
