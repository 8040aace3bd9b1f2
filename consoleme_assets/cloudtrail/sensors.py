"""`cloudtrail_denies_sensor`: every minute (ConsoleMe's beat), launch `cloudtrail_denies_job` when the denies
queue has messages. The sensor only looks at the queue depth; the run receives, writes and deletes.

On by default but idle unless `celery.cache_cloudtrail_denies.enabled` (ConsoleMe's switch): a skip names the
reason. A missing or refused queue is a skip, not a failed tick, so nothing else stops; the problem is
logged once as a warning when it starts or changes (the cursor remembers it), not every minute.
"""

from __future__ import annotations

import logging

import dagster as dg

from ..aws.sqs import QueueError, approximate_message_count, queue_client, queue_url
from ..lib.automation import refresh_job
from ..lib.partitions import aws_accounts_partitions
from ..lib.resources import ConsoleMeResource
from ..lib.sensors import problem_skip, unfinished_run_id
from .datasets import CLOUDTRAIL_DENIES, CLOUDTRAIL_ERRORS_BY_ARN
from .drain import denies_queue

cloudtrail_denies_job = refresh_job([CLOUDTRAIL_DENIES, CLOUDTRAIL_ERRORS_BY_ARN])


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
    active = unfinished_run_id(context, cloudtrail_denies_job.name)
    if active:
        return dg.SkipReason(f"run {active} is still draining the queue")
    try:
        queue = denies_queue(settings)
        client = queue_client(consoleme.sessions, queue, conf.assume_role)
        waiting = approximate_message_count(client, queue, queue_url(client, queue))
    except (QueueError, ValueError) as exc:  # missing, refused (AccessDenied, the assume_role), malformed ARN
        return problem_skip(context, f"CloudTrail denies queue not read: {exc}", logging.WARNING)
    except Exception as exc:  # anything unforeseen: still a skip, named, so nothing else stops
        return problem_skip(context, f"CloudTrail denies queue not read: {type(exc).__name__}: {exc}", logging.WARNING)
    recovered = bool(context.cursor)
    if recovered:
        context.update_cursor("")
    if not waiting:
        if recovered:
            context.log.info(f"SQS queue {queue.arn} is readable again (no messages)")
        return dg.SkipReason(f"no messages on {queue.arn}")
    context.log.info(
        f"SQS queue {queue.arn}{' is readable again' if recovered else ''}: about {waiting} "
        f"message(s) waiting; launching {cloudtrail_denies_job.name}"
    )
    return dg.RunRequest()
