"""IAM refreshes every 45 minutes over all accounts, in one run (ConsoleMe: cache_iam_resources_across_accounts)."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import iam_resources
from .datasets import IAM_RESOURCES

iam_job = dataset_job("iam_job", [iam_resources])

iam_every_45_minutes = dataset_schedule("iam_every_45_minutes", iam_job, [IAM_RESOURCES], all_accounts=True)
