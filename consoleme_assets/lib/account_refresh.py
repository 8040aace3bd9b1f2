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

import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from ..aws.arns import is_aws_managed
from ..aws.inventory import RegionalListing
from ..aws.sessions import describe_aws_error
from ..stores.caches import AccountLists
from ..stores.launches import LaunchStore
from .checks import account_check_specs, evaluate_checks
from .concurrency import completed_in_turn
from .datasets import Dataset
from .event_log import pool_event_log_connections
from .freshness import window_for
from .partitions import aws_accounts_partitions
from .publishing import ACCEPT_REMOVALS, Publisher, RemovalsRefused, accepted_removals, cause_of
from .range_runs import RangeRun
from .resources import ConsoleMeResource
from .write_metadata import report_metadata

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
    publisher: Publisher | None = None,
) -> Iterator[dg.AssetMaterialization]:
    """`publisher`: the run's guard and change records; its run summary goes on the last materialization."""
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
        except RemovalsRefused as exc:  # the guard kept its last good cache
            failed[account_id] = str(exc)
            context.log.error(failed[account_id])
            continue
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
    if finalize is not None and publisher is not None and not publisher.completes_launch():
        # A split launch's combined outputs are built once, by its last run, from every range's accounts.
        context.log.info(f"{context.asset_key.to_user_string()}: combined outputs left to the launch's last run")
    elif finalize is not None:
        try:
            shared = finalize(sorted(landed))
        except Exception as exc:
            finalize_error = describe_aws_error(exc)
            context.log.error(f"combining the cached accounts failed: {finalize_error}")
    if publisher is not None:
        shared.update(publisher.finish())
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


def list_preview(items: list[str], limit: int = 20) -> dict[str, Any]:
    return {
        "dagster/row_count": dg.MetadataValue.int(len(items)),
        "preview": dg.MetadataValue.json(items[:limit]),
    }


def describe_listing(records: list[str] | RegionalListing) -> dict[str, Any]:
    """Per-account metadata: count and preview, and for regional lists how each region went."""
    if not isinstance(records, RegionalListing):
        return list_preview(records)
    return {
        **list_preview(records.items),
        "regions_read": dg.MetadataValue.json(records.regions_read),
        "regions_failed": dg.MetadataValue.json(records.regions_failed),
        "carried_over": dg.MetadataValue.json(records.carried_over),
    }


def refresh_account_lists(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    dataset: Dataset,
    publisher: Publisher | None = None,
    **resources: Any,
) -> Iterator[dg.AssetMaterialization]:
    """Refresh a dataset stored as `AccountLists`: each account from its declared `fetch` in the primary region,
    from the primary's S3 copies in a replica; then the combined S3 file (primary only) from every account cached.

    `fetch(consoleme, account_id)` returns the account's list, or a `RegionalListing` whose failed regions keep
    their ARNs from the account's previous cached list (read only when a region failed)."""
    caches = consoleme.caches()
    settings = consoleme.settings
    storage = dataset.storage
    if not isinstance(storage, AccountLists):
        raise TypeError(f"dataset {dataset.name!r} declares a fetch, so its storage must be AccountLists")

    def collect(account_id: str) -> list[str] | RegionalListing:
        if settings.is_replica:
            return caches.account_list_from_s3(storage, account_id)
        records = dataset.fetch(consoleme, account_id, **resources)
        if isinstance(records, RegionalListing) and records.regions_failed:
            previous = caches.read_account_lists(storage, [account_id]).get(account_id, [])
            records = records.carrying_over(previous)
        return records

    def write(account_id: str, records: list[str] | RegionalListing) -> dict[str, Any]:
        if isinstance(records, RegionalListing):
            for region, error in records.regions_failed.items():  # logged here: this is the step's thread
                context.log.warning(
                    f"account {account_id}: {dataset.name} in {region} not refreshed, kept "
                    f"{records.carried_over.get(region, 0)} cached ARNs: {error}"
                )
            records = records.items
        plan = caches.plan_account_list(storage, account_id, records)
        if publisher is not None:
            publisher.check(account_id, len(plan.removed), len(plan.previous or ()))
        report = caches.apply_account_list(plan)
        if publisher is not None and plan.previous is not None:  # a first refresh is no change to record
            # AWS's own managed policies come and go in every account at once: not one account's change.
            own = [[i for i in items if not is_aws_managed(i)] for items in (plan.added, plan.removed)]
            publisher.record_items(account_id, str(dataset.record_kind or "item"), *own)
        counts = {"added": len(plan.added), "removed": len(plan.removed)}
        return {**report_metadata(report), "changes": dg.MetadataValue.json(counts)}

    def finalize(landed: list[str]) -> dict[str, Any]:
        report = caches.write_account_list_combined(storage)
        return {"combined_s3_uris": dg.MetadataValue.json(report.s3_uris)} if report.s3_uris else {}

    source = "S3 copies of the primary region (replica)" if settings.is_replica else "AWS"
    return refresh_accounts(
        context,
        collect=collect,
        write=write,
        max_workers=settings.tuning.max_concurrent_accounts,
        describe=lambda records: {"source": dg.MetadataValue.text(source), **describe_listing(records)},
        finalize=finalize,
        publisher=publisher,
    )


def per_account_asset(
    dataset: Dataset,
    accounts_asset: str | None,
    freshness: dg.FreshnessPolicy | None,
    max_accounts_per_run: int | None = None,
):
    """The asset of a per-account dataset: account partitions, many accounts per run, one pool per dataset
    (so a second refresh of it queues, whatever launched it), and its declared checks evaluated in the same step.

    The declared `refresh` (or, for `AccountLists` storage, `refresh_account_lists` over the declared `fetch`)
    writes each account through the stores and yields its materializations; there is no IO manager and no
    output value. After it, even when some accounts failed, the selected checks run on what is cached now; then
    the failure, if any, is raised. A check-only selection (the checks job, the cache-presence sensor) runs the
    checks alone, without a partition. `accounts_asset`: the dataset that keeps the account partitions.
    """
    name = dataset.name
    extra_keys = sorted(dataset.resources)

    @dg.multi_asset(
        name=name,
        specs=[
            dg.AssetSpec(
                name,
                description=dataset.description,
                group_name=dataset.group,
                partitions_def=aws_accounts_partitions,
                deps=[dg.AssetKey(d) for d in (accounts_asset, *dataset.deps) if d],
                kinds=set(dataset.kinds),
                metadata={"consoleme_dataset": name},
                freshness_policy=freshness,
            )
        ],
        check_specs=account_check_specs(dataset),
        can_subset=True,  # checks without a refresh
        # One run for any number of accounts (accounts are fetched concurrently inside it), or runs of at most
        # consoleme_assets.max_accounts_per_run accounts each (lib/ranges.py).
        backfill_policy=dg.BackfillPolicy.single_run()
        if max_accounts_per_run is None
        else dg.BackfillPolicy.multi_run(max_accounts_per_run),
        pool=dataset.pool,
        op_tags=dataset.run_tags,
        required_resource_keys={"consoleme", *extra_keys},
        # Accounts whose removals the publish guard refused, accepted by the operator (lib/publishing.py).
        config_schema={ACCEPT_REMOVALS: dg.Field([str], is_required=False, default_value=[])},
    )
    def refresh_then_check(context: dg.AssetExecutionContext):
        consoleme: ConsoleMeResource = context.resources.consoleme
        failure: dg.Failure | None = None
        scope = None  # the accounts `covers_all_accounts` judges: all, unless a split launch is not done yet
        if context.selected_asset_keys:
            store = LaunchStore.of(consoleme.caches())
            run = RangeRun(context, name, store, consoleme.settings.tuning.max_accounts_per_run)
            with run.holding(context.log):
                try:
                    yield from refresh(context, consoleme, run)
                except dg.Failure as exc:  # some accounts failed: still check what is cached, then fail
                    failure = exc
                if not run.completes_launch():
                    scope = run.accounts
        checks = evaluate_checks(
            sorted(context.selected_asset_check_keys),
            dataset,
            consoleme.caches(),
            context.instance,
            window_for(dataset, consoleme.settings),
            scope=scope,
        )
        yield from checks
        if failure is not None:
            raise failure

    def refresh(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource, run: RangeRun):
        extra = {key: getattr(context.resources, key) for key in extra_keys}
        accepted = accepted_removals(context.op_execution_context)
        publisher = Publisher(dataset, consoleme, cause_of(context), accepted, context.log, launch=run)
        if dataset.refresh is not None:
            events = dataset.refresh(context, consoleme, publisher=publisher, **extra)
        else:
            events = refresh_account_lists(context, consoleme, dataset, publisher, **extra)
        for event in events:
            if not isinstance(event, (dg.AssetMaterialization, dg.AssetObservation)):
                raise dg.DagsterInvariantViolationError(
                    f"{name}: a per-account refresh yields one AssetMaterialization per account it "
                    f"wrote (refresh_accounts), not {type(event).__name__}"
                )
            yield event

    return refresh_then_check
