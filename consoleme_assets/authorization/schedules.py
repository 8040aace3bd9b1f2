"""ConsoleMe rebuilt the credential authorization mapping every 5 minutes."""

import dagster as dg

from ..lib.cadences import cron_of, dataset_job
from ..resources import ConsoleMeResource
from .assets import credential_authorization_mappings
from .datasets import DATASETS

credential_mapping_job = dataset_job("credential_mapping_job", [credential_authorization_mappings])


@dg.schedule(
    name="credential_mapping_every_5_minutes",
    cron_schedule=cron_of(DATASETS),
    target=credential_mapping_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def credential_mapping_every_5_minutes(context: dg.ScheduleEvaluationContext, consoleme: ConsoleMeResource):
    """Skips (grey, with the reason) rather than launching a run bound to fail while IAM_ROLE_CACHE is empty, as
    on a new install before the first IAM refresh lands."""
    settings = consoleme.settings
    if settings.credential_mapping.role_tags_enabled:
        key = settings.redis_keys.iam_roles
        if consoleme.caches().hash_size(key) == 0:
            return dg.SkipReason(f"{key} is empty: waiting for the first iam_resources refresh")
    return dg.RunRequest()
