"""`cloudtrail_denies_sensor`: every minute (ConsoleMe's beat), launch `cloudtrail_denies_job` when the denies
queue has messages. The sensor only looks at the queue depth; the run receives, writes and deletes.

On by default but idle unless `celery.cache_cloudtrail_denies.enabled` (ConsoleMe's switch): a skip names the
reason. A missing or refused queue is a skip, not a failed tick, so nothing else stops; the problem is
logged once as a warning when it starts or changes (the cursor remembers it), not every minute.
"""

from __future__ import annotations

import dagster as dg

from ..aws.queues import QueueError, approximate_message_count, queue_client, queue_url_from_arn
from ..lib.partitions import aws_accounts_partitions
from ..resources import ConsoleMeResource
from .denies_asset import denies_queue
from .schedules import cloudtrail_denies_job

ACTIVE_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.STARTED]


def _problem(context: dg.SensorEvaluationContext, text: str) -> dg.SkipReason:
    if context.cursor != text:
        context.log.warning(text)
        context.update_cursor(text)
    return dg.SkipReason(text)


@dg.sensor(
    name="cloudtrail_denies_sensor",
    job=cloudtrail_denies_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every minute: when the CloudTrail denies queue has messages, run cloudtrail_denies (queue -> "
    "consoleme_cloudtrail) and then cloudtrail_errors_by_arn. Idle unless celery.cache_cloudtrail_denies.enabled.",
)
def cloudtrail_denies_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
    settings = consoleme.settings
    conf = settings.cloudtrail_denies
    if not conf.enabled:
        return dg.SkipReason("celery.cache_cloudtrail_denies.enabled is not true")
    if not context.instance.get_dynamic_partitions(aws_accounts_partitions.name):
        return dg.SkipReason("no account partitions yet: materialize aws_accounts first")
    active = context.instance.get_run_records(
        dg.RunsFilter(job_name=cloudtrail_denies_job.name, statuses=ACTIVE_STATUSES), limit=1
    )
    if active:
        return dg.SkipReason(f"run {active[0].dagster_run.run_id} is still draining the queue")
    try:
        queue = denies_queue(settings)
        client = queue_client(consoleme.sessions, queue, conf.assume_role)
        waiting = approximate_message_count(client, queue, queue_url_from_arn(client, queue))
    except (QueueError, ValueError) as exc:
        return _problem(context, f"CloudTrail denies queue not read: {exc}")
    except Exception as exc:  # e.g. the assume_role refused: still a skip, named, so nothing else stops
        return _problem(context, f"CloudTrail denies queue not read: {type(exc).__name__}: {exc}")
    recovered = bool(context.cursor)
    if recovered:
        context.update_cursor("")
    if not waiting:
        if recovered:
            context.log.info(f"SQS queue {queue.arn} is readable again (no messages)")
        return dg.SkipReason(f"no messages on {queue.arn}")
    context.log.info(f"SQS queue {queue.arn}{' is readable again' if recovered else ''}: about {waiting} "
                     f"message(s) waiting; launching {cloudtrail_denies_job.name}")
    return dg.RunRequest()
