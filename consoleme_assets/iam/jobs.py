"""Re-read roles on demand (ConsoleMe's refresh_iam_role): one role from the CLI or the UI, or a batch of roles
named by role-change events (see sensors.py), whose queue messages are deleted once their role has landed."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from botocore.exceptions import ClientError

from ..aws.arns import NotAnArn, parse_arn
from ..aws.iam import role_detail
from ..aws.sessions import describe_aws_error
from ..aws.sqs import QueueError, delete_messages, parse_queue_arn, queue_client, queue_url
from ..lib.concurrency import completed_in_turn
from ..lib.publishing import Publisher
from ..lib.resources import ConsoleMeResource
from ..settings import normalize_account_id
from ..stores.changes import compare
from ..stores.iam_cache import IamCache
from . import records
from .datasets import IAM_RESOURCES, iam_cache
from .role_events import lag_seconds, lag_summary, parse_time

ROLE_CHANGES_DATASET = "role_changes"  # run tag value: one batch at a time (dagster.yaml's per-dataset limit)


class RefreshRoleConfig(dg.Config):
    role_arn: str  # arn:aws:iam::<account>:role/<path/><name>


def parse_role_arn(arn: str) -> tuple[str, str]:
    """(account id, role name) from a role ARN; a clear error for anything else."""
    try:
        parsed = parse_arn(arn)
    except NotAnArn:
        parsed = None
    if parsed is None or parsed.service != "iam" or parsed.resource_type != "role":
        raise ValueError(f"role_arn {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return normalize_account_id(parsed.account, f"account id in role_arn {arn!r}"), parsed.name


class RoleRejected(ValueError):
    """IAM answered with a role ConsoleMe's readers could not use; its cached entry is kept."""


@dataclass
class RoleOutcome:
    requested_arn: str
    arn: str  # the ARN written or removed (IAM's, path included), else the requested one
    action: str  # "updated" | "removed" | "not found" | "filtered out"
    written_at: dt.datetime
    notes: list[str] = field(default_factory=list)
    previous: dict[str, str] = field(default_factory=dict)  # the cached entries it replaced or removed (raw)
    fresh: dict[str, Any] = field(default_factory=dict)  # the entry it wrote


def fetch_role(consoleme: ConsoleMeResource, requested_arn: str) -> tuple[str, str, dict | None]:
    """(account id, role name, the role in GAAD's shape or None if IAM has no such role)."""
    account_id, role_name = parse_role_arn(requested_arn)
    return account_id, role_name, role_detail(consoleme.sessions, account_id, role_name)


def store_role(
    consoleme: ConsoleMeResource,
    cache: IamCache,
    requested_arn: str,
    fetched: tuple[str, str, dict | None],
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> RoleOutcome:
    """Write ConsoleMe's refresh_iam_role entry (spec §5.20) to DynamoDB and IAM_ROLE_CACHE. A role IAM no
    longer has (or the roles.allowed_* filter excludes) loses its cached entry; one never cached is reported
    "not found". Called on one thread: the stores' clients are shared."""
    account_id, role_name, detail = fetched
    problems = records.detail_problems("roles", detail, account_id) if detail is not None else []
    if problems:  # the cached entry and item stay as they were (last good), as in iam_resources
        raise RoleRejected(
            f"account {account_id}: role {requested_arn} rejected: {'; '.join(problems)}; its cached entry is kept"
        )
    filtered = detail is not None and not records.allowed_to_sync_role(
        detail["Arn"], records.tags_of(detail), consoleme.settings.role_filter
    )
    if detail is None or filtered:
        cached = cache.cached_role_arns(account_id, role_name)
        previous = cache.role_values(cached)
        cache.remove_roles(account_id, cached)
        action = "filtered out" if filtered else "removed" if cached else "not found"
        return RoleOutcome(requested_arn, cached[0] if cached else requested_arn, action, clock(), previous=previous)
    arn = detail["Arn"]
    entry = records.refreshed_role_entry(detail, account_id, records.ttl_from(clock()), cache.templated([arn]).get(arn))
    previous = cache.role_values([arn])
    notes = cache.write_role(entry)
    return RoleOutcome(requested_arn, arn, "updated", clock(), notes, previous, {arn: entry})


def record_outcome(publisher: Publisher, outcome: RoleOutcome, cause: dict[str, Any] | None = None) -> int:
    """The outcome's change records (none when the role did not change); returns how many."""
    changes = compare(outcome.previous, outcome.fresh)
    account_id = parse_role_arn(outcome.arn)[0]
    records_ = publisher.record_entries(
        account_id, "role", changes, outcome.previous, outcome.fresh, view=records.history_view, cause=cause
    )
    return len(records_)


def role_refresh_op(description: str):
    """An op that re-reads roles from IAM (pool `aws_api`) and writes them through `IamCache`."""
    return dg.op(description=description, pool="aws_api")


@role_refresh_op(
    "Re-reads one IAM role from AWS and writes ConsoleMe's refresh_iam_role entry to IAM_ROLE_CACHE and DynamoDB; "
    "a role that no longer exists is removed from both."
)
def refresh_iam_role(
    context: dg.OpExecutionContext, config: RefreshRoleConfig, consoleme: ConsoleMeResource
) -> dg.Output[None]:
    parse_role_arn(config.role_arn)
    try:
        outcome = store_role(consoleme, iam_cache(consoleme), config.role_arn, fetch_role(consoleme, config.role_arn))
    except RoleRejected as exc:
        raise dg.Failure(description=str(exc)) from None
    notes = f" ({'; '.join(outcome.notes)})" if outcome.notes else ""
    context.log.info(f"{config.role_arn}: {outcome.action}{notes}")
    publisher = Publisher(IAM_RESOURCES, consoleme, {"type": "refresh_role", "run_id": context.run_id}, log=context.log)
    record_outcome(publisher, outcome)
    return dg.Output(
        None,
        metadata={
            "role_arn": outcome.arn,
            "action": outcome.action,
            **({"notes": dg.MetadataValue.json(outcome.notes)} if outcome.notes else {}),
            **publisher.finish(),
        },
    )


@dg.job(description="Refresh one IAM role in IAM_ROLE_CACHE and DynamoDB. Config: ops.refresh_iam_role.config.role_arn")
def refresh_iam_role_job():
    refresh_iam_role()


# -- a batch of roles named by role-change events ---------------------------------------------------------------


class ChangedRoleConfig(dg.Config):
    role_arn: str
    event_time: str | None = None  # ISO time of the earliest event naming the role (for the lag)
    receipt_handles: list[str] = []  # its messages, deleted from the queue once the role has landed
    event_ids: list[str] = []  # CloudTrail event ids and actors, for the change history
    actors: list[str] = []


class RoleChangesConfig(dg.Config):
    queue_arn: str | None = None  # where the receipt handles belong (None: nothing to delete)
    roles: list[ChangedRoleConfig]


def _acknowledge(consoleme: ConsoleMeResource, queue_arn: str, handles: list[str]) -> list[str]:
    """Delete the handled messages; a failure is reported, not raised (their roles did land: the worst case is
    that the messages come back after the visibility timeout and the roles are refreshed once more)."""
    try:
        queue = parse_queue_arn(queue_arn)
        client = queue_client(consoleme.sessions, queue, consoleme.settings.role_changes.assume_role)
        return delete_messages(client, queue, queue_url(client, queue), handles)
    except (ValueError, QueueError) as exc:  # both name the queue
        return [str(exc)]


@role_refresh_op(
    "Re-reads the roles named by role-change events (ConsoleMe's refresh_iam_role for each), writes them to "
    "IAM_ROLE_CACHE and DynamoDB, then deletes their queue messages. Metadata: per role the action and the lag "
    "from the event to the cache write; max and median lag."
)
def refresh_changed_roles(
    context: dg.OpExecutionContext, config: RoleChangesConfig, consoleme: ConsoleMeResource
) -> dg.Output[list[str]]:
    cache = iam_cache(consoleme)
    publisher = Publisher(IAM_RESOURCES, consoleme, {"type": "role_change", "run_id": context.run_id}, log=context.log)
    roles = {r.role_arn: r for r in config.roles}
    for arn in roles:
        parse_role_arn(arn)  # a bad ARN in hand-written config fails before anything is written
    landed: list[tuple[ChangedRoleConfig, RoleOutcome]] = []
    failed: dict[str, str] = {}
    workers = min(len(roles), consoleme.settings.tuning.max_concurrent_accounts) or 1
    # IAM reads in parallel; the writes here, one at a time.
    for arn, future in completed_in_turn(lambda a: fetch_role(consoleme, a), list(roles), workers, "role"):
        try:
            landed.append((roles[arn], store_role(consoleme, cache, arn, future.result())))
        except Exception as exc:  # noqa: BLE001 - one role's failure must not keep the others from landing
            failed[arn] = describe_aws_error(exc) if isinstance(exc, ClientError) else str(exc) or repr(exc)
            context.log.error(f"{arn}: not refreshed, its messages stay queued: {failed[arn]}")
    handles = [h for changed, _ in landed for h in changed.receipt_handles]
    delete_failures = _acknowledge(consoleme, config.queue_arn, handles) if handles and config.queue_arn else []
    for problem in delete_failures:
        context.log.warning(f"deleting handled messages: {problem}")

    by_role, lags = {}, []
    for changed, outcome in landed:
        event = {"event_ids": changed.event_ids, "event_time": changed.event_time, "actors": changed.actors}
        record_outcome(publisher, outcome, {k: v for k, v in event.items() if v})
        lag = lag_seconds(parse_time(changed.event_time), outcome.written_at)
        lags += [lag] if lag is not None else []
        by_role[outcome.arn] = {
            "action": outcome.action,
            "lag_seconds": lag,
            "messages": len(changed.receipt_handles),
            **({"notes": outcome.notes} if outcome.notes else {}),
        }
    summary = lag_summary(lags)
    metadata = {
        "roles_refreshed": len(landed),
        "roles_failed": len(failed),
        "messages_deleted": len(handles) - len(delete_failures) if handles else 0,
        **summary,
        "roles": dg.MetadataValue.json(by_role),
        **({"failures": dg.MetadataValue.json(failed)} if failed else {}),
        **({"delete_failures": dg.MetadataValue.json(delete_failures)} if delete_failures else {}),
        **publisher.finish(),
    }
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(roles)} role(s) not refreshed (their messages stay "
            "queued and come back after the visibility timeout): " + "; ".join(f"{a}: {e}" for a, e in failed.items()),
            metadata=metadata,
        )
    max_lag = f", max lag {summary['max_lag_seconds']} s" if "max_lag_seconds" in summary else ""
    context.log.info(f"{len(landed)} role(s) refreshed{max_lag}")
    return dg.Output(sorted(by_role), metadata=metadata)


@dg.job(
    description="Refresh the roles named by role-change events (launched by role_change_sensor). Config: "
    "ops.refresh_changed_roles.config: {queue_arn, roles: [{role_arn, event_time, receipt_handles}]}",
    tags={"consoleme_assets/dataset": ROLE_CHANGES_DATASET},
    executor_def=dg.in_process_executor,  # one step: a subprocess would add seconds of lag
)
def role_changes_job():
    refresh_changed_roles()
