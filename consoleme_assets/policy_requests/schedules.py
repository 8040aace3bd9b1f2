"""ConsoleMe's beat ran cache_policy_requests every 5 minutes (its docs say hourly; the code says 5 minutes)."""

from ..lib.cadences import dataset_job, every

from .assets import policy_requests

policy_requests_job = dataset_job("policy_requests_job", [policy_requests])

policy_requests_every_5_minutes = every("policy_requests_every_5_minutes", "*/5 * * * *", policy_requests_job)
