"""Draining the CloudTrail denies queue into DynamoDB `consoleme_cloudtrail` (the `cloudtrail_denies` dataset;
ConsoleMe's cache_cloudtrail_denies, spec §5.21).

Per batch of up to 10 messages: bodies -> items (pure, `denies.py`), folded with the items already stored for
the same request ids (BatchGetItem, not ConsoleMe's whole-table scan), only those items written (ConsoleMe
rewrote the whole table every batch), and only then the batch deleted from the queue. A failed write fails the
run with the batch still in the queue (it comes back after the visibility timeout). A message that cannot
become an item is logged, naming the queue, the message and why, counted in the metadata, and deleted.
"""

import time
from collections import Counter
from typing import Any

import dagster as dg

from ..aws.arns import account_of
from ..aws.sqs import (
    RECEIVE_LIMIT,
    QueueMessage,
    QueueRef,
    delete_messages,
    parse_queue_arn,
    queue_client,
    queue_url,
    receive_messages,
)
from ..lib.partitions import aws_accounts_partitions
from ..lib.resources import ConsoleMeResource
from ..settings import Settings
from ..stores.tables import DynamoSourceError
from .denies import Rejection, deny_item, event_detail, merge_denies

KEY_NAMES = ["arn", "request_id"]


def denies_queue(settings: Settings) -> QueueRef:
    """The configured queue (`{region}` filled in), or a clear error naming the key."""
    arn = settings.cloudtrail_denies.queue_arn
    if not arn:
        raise ValueError("event_bridge.detect_cloudtrail_denies_and_update_cache.queue_arn is not set")
    return parse_queue_arn(arn.format(region=settings.region))


def items_of_batch(
    messages: list[QueueMessage], settings: Settings, now: float, accounts: set[str]
) -> tuple[list[dict[str, Any]], list[tuple[QueueMessage, Rejection]]]:
    """(items, [(message, rejection)]) for one received batch."""
    conf = settings.cloudtrail_denies
    items, rejected = [], []
    for message in messages:
        detail = event_detail(message.body)
        result = (
            detail
            if isinstance(detail, Rejection)
            else deny_item(detail, now, conf.event_ttl, conf.event_bridge_substitutions)
        )
        if not isinstance(result, Rejection) and account_of(result["arn"]) not in accounts:
            result = Rejection(
                "unknown_account",
                f"{result['arn']}: account {account_of(result['arn'])} is not "
                "an account partition (not a known active account)",
            )
        if isinstance(result, Rejection):
            rejected.append((message, result))
        else:
            items.append(result)
    return items, rejected


def drain_denies_queue(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dg.MaterializeResult:
    settings = consoleme.settings
    conf = settings.cloudtrail_denies
    if not conf.enabled:
        return dg.MaterializeResult(metadata={"skipped": "celery.cache_cloudtrail_denies.enabled is not true"})
    accounts = set(context.instance.get_dynamic_partitions(aws_accounts_partitions.name))
    if not accounts:  # every event would be rejected as an unknown account: leave them queued
        return dg.MaterializeResult(metadata={"skipped": "no account partitions yet: materialize aws_accounts first"})
    queue = denies_queue(settings)
    client = queue_client(consoleme.sessions, queue, conf.assume_role)
    url = queue_url(client, queue)
    caches = consoleme.caches()
    table = settings.tables.cloudtrail

    received = written = 0
    new_ids: list[str] = []
    reasons: Counter[str] = Counter()
    undeleted: list[str] = []
    while received < conf.max_num_messages_to_process:
        messages = receive_messages(client, queue, url, min(RECEIVE_LIMIT, conf.max_num_messages_to_process - received))
        if not messages:
            break
        received += len(messages)
        items, rejected = items_of_batch(messages, settings, time.time(), accounts)
        for message, why in rejected:
            context.log.warning(f"SQS queue {queue.arn}: message {message.message_id} rejected and deleted: {why}")
            reasons[why.reason] += 1
        if items:
            try:
                existing = caches.get_table_items(table, [{k: i[k] for k in KEY_NAMES} for i in items])
                merged = merge_denies(items, {e["request_id"]: e for e in existing})
                written += caches.put_table_items(table, merged.items, KEY_NAMES)
            except Exception as exc:  # the batch stays in the queue; name the table
                raise DynamoSourceError(table, f"{type(exc).__name__}: {exc}") from exc
            new_ids += merged.new_request_ids
        undeleted += delete_messages(client, queue, url, [m.receipt_handle for m in messages])
    if undeleted:
        context.log.warning(
            f"SQS queue {queue.arn}: {len(undeleted)} message(s) not deleted, they will be "
            f"received again: {undeleted[:10]}"
        )
    more = received >= conf.max_num_messages_to_process
    if received:
        context.log.info(
            f"SQS queue {queue.arn}: {received} message(s), {written} item(s) written "
            f"({len(new_ids)} new), {sum(reasons.values())} rejected"
            + ("; more are waiting (max_num_messages_to_process)" if more else "")
        )
    return dg.MaterializeResult(
        metadata={
            "queue_arn": queue.arn,
            "table": table,
            "messages_received": received,
            "items_written": written,
            "new_items": len(new_ids),
            "messages_rejected": sum(reasons.values()),
            "rejected_by_reason": dg.MetadataValue.json(dict(sorted(reasons.items()))),
            "messages_not_deleted": len(undeleted),
            "reached_max_messages": more,
        }
    )
