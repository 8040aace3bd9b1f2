"""Refreshing one dataset for many accounts inside one step.

Accounts are fetched concurrently (bounded by `consoleme_assets.max_concurrent_accounts`) and written
one by one as they finish, so memory holds a few accounts, not all. An account that fails keeps its
previous cache. Each account that landed gets its AssetMaterialization as soon as it is written, so
Dagster's event-log writes overlap the other accounts' AWS calls instead of queueing up after them.
After all accounts, `finalize` runs once (e.g. the combined S3 file, written from what is cached now,
failed accounts included); its metadata goes on the last account's materialization, held back for it.
If any account failed the step fails naming them, so Dagster marks exactly those partitions FAILED
(planned-but-not-materialized partitions of a failed run).
"""

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from ..accounts.assets import aws_accounts
from ..aws.sessions import describe_aws_error
from ..observability.checks import account_check_specs, evaluate_checks
from ..observability.freshness import window_for
from .concurrency import completed_in_turn
from .datasets import Dataset
from .event_log import pool_event_log_connections
from .partitions import aws_accounts_partitions

Collect = Callable[[str], Any]  # account id -> records
Write = Callable[[str, Any], dict[str, Any]]  # account id, records -> metadata
Finalize = Callable[[list[str]], dict[str, Any]]  # accounts that landed -> metadata for all of them


def refresh_accounts(
    context: dg.AssetExecutionContext,
    collect: Collect,
    write: Write,
    max_workers: int,
    describe: Callable[[Any], dict[str, Any]] | None = None,
    finalize: Finalize | None = None,
) -> Iterator[dg.AssetMaterialization]:
    pool_event_log_connections(context.instance)  # one materialization per account: keep a connection
    accounts = list(context.partition_keys)
    failed: dict[str, str] = {}
    landed: list[str] = []
    held: tuple[str, dict[str, Any]] | None = None  # the newest landed account, waiting for finalize's metadata
    started = time.monotonic()

    def timed_collect(account_id: str) -> tuple[Any, float]:
        t0 = time.monotonic()
        return collect(account_id), time.monotonic() - t0

    for account_id, future in completed_in_turn(timed_collect, accounts, min(max_workers, len(accounts))):
        try:
            records, seconds = future.result()
            t0 = time.monotonic()
            metadata = write(account_id, records)  # writes happen on this thread, one account at a time
        except Exception as exc:  # one account's failure must not stop the others
            failed[account_id] = describe_aws_error(exc)
            context.log.error(f"account {account_id}: refresh failed: {failed[account_id]}")
            continue
        landed.append(account_id)
        if held is not None:
            yield dg.AssetMaterialization(asset_key=context.asset_key, partition=held[0], metadata=held[1])
        held = (
            account_id,
            {
                "account_id": dg.MetadataValue.text(account_id),
                "fetch_seconds": dg.MetadataValue.float(round(seconds, 3)),
                "write_seconds": dg.MetadataValue.float(round(time.monotonic() - t0, 3)),
                **(describe(records) if describe else {}),
                **metadata,
            },
        )
        del records, future  # keep memory flat: only metadata survives the account
        if len(landed) % 25 == 0:
            context.log.info(f"{len(landed)}/{len(accounts)} accounts refreshed")

    shared: dict[str, Any] = {}
    finalize_error = None
    if finalize is not None:
        try:
            shared = finalize(sorted(landed))
        except Exception as exc:
            finalize_error = describe_aws_error(exc)
            context.log.error(f"combining the cached accounts failed: {finalize_error}")
    if held is not None:
        yield dg.AssetMaterialization(asset_key=context.asset_key, partition=held[0], metadata={**held[1], **shared})
    context.log.info(
        f"{len(landed)}/{len(accounts)} accounts refreshed in {time.monotonic() - started:.1f}s"
        + (f"; failed: {', '.join(sorted(failed))}" if failed else "")
    )
    if failed or finalize_error:
        problems = [f"{a}: {e}" for a, e in sorted(failed.items())]
        if finalize_error:
            problems.insert(0, f"combined file: {finalize_error}")
        raise dg.Failure(
            description=f"{len(failed)} of {len(accounts)} accounts failed; their previous cache is kept: "
            + "; ".join(problems[:20]),
            metadata={"failed_accounts": dg.MetadataValue.json(failed)},
        )


def per_account_asset(dataset: Dataset, description: str, group_name: str, kinds: set[str] | None = None):
    """The shared shape of a per-account dataset: account partitions, many accounts per run, one pool per dataset
    (so a second refresh of it queues, whatever launched it), and its declared checks evaluated in the same step.

    The decorated function writes each account through the stores and yields its materializations
    (`refresh_accounts`); there is no IO manager and no output value. After it, even when some
    accounts failed, the selected checks run on what is cached now; then the failure, if any, is raised. A
    check-only selection (the checks job, the cache-presence sensor) runs the checks alone, without a partition.
    """

    name = dataset.name

    def decorate(refresh: Callable[..., Iterator[dg.AssetMaterialization]]) -> dg.AssetsDefinition:
        @dg.multi_asset(
            name=name,
            specs=[
                dg.AssetSpec(
                    name,
                    description=description,
                    group_name=group_name,
                    partitions_def=aws_accounts_partitions,
                    deps=[aws_accounts],
                    kinds=kinds or {"aws", "redis", "s3"},
                    metadata={"consoleme_dataset": name},
                )
            ],
            check_specs=account_check_specs(dataset),
            can_subset=True,  # checks without a refresh
            # One run for any number of accounts; accounts are fetched concurrently inside it.
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=dataset.pool,
            op_tags=dataset.run_tags,
        )
        @functools.wraps(refresh)
        def refresh_then_check(context: dg.AssetExecutionContext, **resources: Any):
            failure: dg.Failure | None = None
            if context.selected_asset_keys:
                try:
                    for event in refresh(context, **resources):
                        if not isinstance(event, (dg.AssetMaterialization, dg.AssetObservation)):
                            raise dg.DagsterInvariantViolationError(
                                f"{name}: a per-account asset yields one AssetMaterialization per account it "
                                f"wrote (refresh_accounts), not {type(event).__name__}"
                            )
                        yield event
                except dg.Failure as exc:  # some accounts failed: still check what is cached, then fail
                    failure = exc
            consoleme = resources["consoleme"]
            checks = evaluate_checks(
                sorted(context.selected_asset_check_keys),
                consoleme.caches(),
                context.instance,
                window_for(dataset, consoleme.settings),
            )
            yield from checks
            if failure is not None:
                raise failure

        return refresh_then_check

    return decorate
