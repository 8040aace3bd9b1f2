"""Role changes from EventBridge (ConsoleMe's trigger_credential_mapping_refresh_from_role_changes, spec §5.19).

`role_change_sensor` reads the queue and launches ONE `role_changes_job` run for all the roles a tick's messages
name; that run deletes the messages of the roles it wrote. `credential_mapping_after_role_changes` then rebuilds
the credential authorization mapping.

Delivery is at least once. Received messages stay invisible for VISIBILITY_TIMEOUT_SECONDS; the sensor receives
nothing while a batch run is queued or running, so the handles it passed to that run stay the latest ones until
the run deletes them. A role that fails to refresh (or a run that never starts) leaves its messages in the queue:
they come back after the visibility timeout and are tried again. Messages that name no role we can refresh
(no `detail`, no role name, an account without an `aws_accounts` partition) are deleted at once and logged;
ConsoleMe left those without `detail` to come back forever.
"""

import dagster as dg

from ..authorization.datasets import CREDENTIAL_AUTHORIZATION_MAPPING, REVERSE_AUTHORIZATION_MAPPING
from ..aws.sqs import QueueError, delete_messages, parse_queue_arn, queue_client, queue_url, receive_messages
from ..lib.automation import refresh_job
from ..lib.completeness import gap_of
from ..lib.partitions import aws_accounts_partitions
from ..lib.resources import ConsoleMeResource
from ..lib.sensors import problem_skip, unfinished_run_id
from .datasets import IAM_RESOURCES, iam_cache
from .jobs import role_changes_job
from .role_events import Rejected, coalesce, parse_role_change

credential_mapping_job = refresh_job([CREDENTIAL_AUTHORIZATION_MAPPING, REVERSE_AUTHORIZATION_MAPPING])

ENABLED_KEY = "celery.trigger_credential_mapping_refresh_from_role_changes.enabled"
QUEUE_KEY = "event_bridge.detect_role_changes_and_update_cache.queue_arn"
# Longer than a batch run waits in the queue and runs; after it, unacknowledged messages are received again.
VISIBILITY_TIMEOUT_SECONDS = 600
MAX_MESSAGES_PER_TICK = 100  # one run's worth; the rest wait for the next tick


@dg.sensor(
    name="role_change_sensor",
    job=role_changes_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Reads the role-change queue ({QUEUE_KEY}) and launches one role_changes_job run for the roles "
    f"its messages name. Skips unless {ENABLED_KEY} is true.",
)
def role_change_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
    settings = consoleme.settings
    if not settings.role_changes.enabled:
        return dg.SkipReason(f"role changes are off ({ENABLED_KEY} is not true)")
    arn = settings.role_change_queue_arn()
    if not arn:
        return problem_skip(context, f"{ENABLED_KEY} is true but {QUEUE_KEY} is not set")
    try:
        queue = parse_queue_arn(arn)
    except ValueError as exc:
        return problem_skip(context, f"{QUEUE_KEY}: {exc}")
    busy = unfinished_run_id(context, role_changes_job.name)
    if busy:
        return dg.SkipReason(f"batch run {busy} is not finished yet")
    accounts = set(context.instance.get_dynamic_partitions(aws_accounts_partitions.name))
    if not accounts:  # deciding "unknown account" now would drop every event
        return dg.SkipReason("no aws_accounts partitions yet: waiting for account discovery")
    try:
        client = queue_client(consoleme.sessions, queue, settings.role_changes.assume_role)
        url = queue_url(client, queue)
        messages = receive_messages(client, queue, url, MAX_MESSAGES_PER_TICK, VISIBILITY_TIMEOUT_SECONDS)
    except QueueError as exc:  # missing, AccessDenied, the assume_role refused: named with the queue
        return problem_skip(context, str(exc))
    if not messages:
        return dg.SensorResult(skip_reason=f"queue {queue.name} is empty", cursor="")

    changes, dropped = [], []
    for message in messages:
        parsed = parse_role_change(message.message_id, message.body, queue.partition, message.sent_at)
        if isinstance(parsed, Rejected):
            dropped.append((message, parsed.reason))
        elif parsed.account_id not in accounts:
            dropped.append(
                (message, f"role {parsed.role_arn}: account {parsed.account_id} is not an aws_accounts partition")
            )
        else:
            changes.append((message, parsed))
    for message, reason in dropped:
        context.log.warning(f"queue {arn}: message {message.message_id} deleted unprocessed: {reason}")
    if dropped:
        try:
            for failure in delete_messages(client, queue, url, [m.receipt_handle for m, _ in dropped]):
                context.log.warning(f"queue {arn}: deleting a dropped message failed: {failure}")
        except QueueError as exc:
            context.log.warning(f"deleting dropped messages failed: {exc}")
    if not changes:
        return dg.SensorResult(skip_reason=f"{len(dropped)} message(s) named no role to refresh (deleted)", cursor="")

    roles = coalesce([change for _, change in changes])
    handles: dict[str, list[str]] = {}
    for message, change in changes:
        handles.setdefault(change.role_arn, []).append(message.receipt_handle)
    context.log.info(
        f"queue {queue.name}: {len(changes)} message(s) name {len(roles)} role(s); launching one run"
        + (f" ({len(dropped)} dropped)" if dropped else "")
    )
    role_configs = [
        {
            "role_arn": role.role_arn,
            "receipt_handles": handles[role.role_arn],
            "event_time": role.first_event_time.isoformat() if role.first_event_time else None,
            "event_ids": role.event_ids,
            "actors": role.actors,
        }
        for role in roles.values()
    ]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_config={"ops": {"refresh_changed_roles": {"config": {"queue_arn": arn, "roles": role_configs}}}},
                tags={"consoleme_assets/role_count": str(len(roles))},
            )
        ],
        cursor="",
    )


@dg.run_status_sensor(
    name="credential_mapping_after_role_changes",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[role_changes_job],
    request_job=credential_mapping_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the credential authorization mapping after each successful role_changes_job run (skips "
    "while IAM_ROLE_CACHE is empty, or lacks what iam_resources wrote: cache_presence_sensor refills it first).",
)
def credential_mapping_after_role_changes(context: dg.RunStatusSensorContext, consoleme: ConsoleMeResource):
    if iam_cache(consoleme).role_count() == 0:
        return dg.SkipReason("IAM_ROLE_CACHE is empty: no mapping to build (materialize iam_resources)")
    gap = gap_of(IAM_RESOURCES, consoleme.caches(), context.instance, built_from=True)
    if gap:  # only event-written roles (cold start, flushed Redis): the mapping waits for a full refresh
        return dg.SkipReason(f"iam_resources is incomplete ({gap.describe()}): the mapping waits for its refill")
    return dg.RunRequest(run_key=f"after-role-changes:{context.dagster_run.run_id}")
