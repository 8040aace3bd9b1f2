"""ConsoleMe refreshed SCPs and the organization structure hourly; one hourly run does both."""

from ..lib.cadences import dataset_job, dataset_schedule
from . import datasets
from .assets import organization_structure, service_control_policies

organizations_job = dataset_job("organizations_job", [service_control_policies, organization_structure])

organizations_hourly = dataset_schedule("organizations_hourly", organizations_job, datasets.DATASETS)
