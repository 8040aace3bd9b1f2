"""Per-account datasets refresh every 45 minutes over all accounts, in one run."""

from ..lib.cadences import dataset_job, dataset_schedule
from . import datasets
from .assets import managed_policies, s3_buckets, sns_topics, sqs_queues

# ConsoleMe's four 45-minute account_resource_cache tasks; one run, one step per dataset, all accounts.
INVENTORY_ASSETS = [s3_buckets, managed_policies, sqs_queues, sns_topics]

inventory_job = dataset_job("inventory_job", INVENTORY_ASSETS)

inventory_every_45_minutes = dataset_schedule(
    "inventory_every_45_minutes", inventory_job, datasets.DATASETS, all_accounts=True
)
