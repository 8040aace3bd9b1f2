"""ConsoleMe's beat ran cache_policy_requests every 5 minutes (its docs say hourly; the code says 5 minutes)."""

from ..lib.cadences import dataset_job, dataset_schedule
from .assets import policy_requests
from .datasets import POLICY_REQUESTS

policy_requests_job = dataset_job("policy_requests_job", [policy_requests])

policy_requests_every_5_minutes = dataset_schedule(
    "policy_requests_every_5_minutes", policy_requests_job, [POLICY_REQUESTS]
)
