"""Refreshing one dataset for many accounts inside one step.

Accounts are fetched concurrently (bounded by `consoleme_assets.max_concurrent_accounts`) and written
one by one as they finish, so memory holds a few accounts, not all. Each account that lands yields its
own AssetMaterialization; accounts that fail keep their previous cache, are named in the failure, and
the step fails at the end so Dagster marks exactly those partitions FAILED.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import dagster as dg

from .aws.sessions import describe_aws_error

Collect = Callable[[str], Any]  # account id -> records
Write = Callable[[str, Any], dict[str, Any]]  # account id, records -> metadata


def _error_text(exc: BaseException) -> str:
    return describe_aws_error(exc)


def refresh_accounts(
    context: dg.AssetExecutionContext,
    collect: Collect,
    write: Write,
    max_workers: int,
    describe: Callable[[Any], dict[str, Any]] | None = None,
) -> Iterator[dg.AssetMaterialization]:
    accounts = list(context.partition_keys)
    failed: dict[str, str] = {}
    started = time.monotonic()
    done = 0

    def timed_collect(account_id: str) -> tuple[Any, float]:
        t0 = time.monotonic()
        return collect(account_id), time.monotonic() - t0

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(accounts))), thread_name_prefix="account") as pool:
        futures = {pool.submit(timed_collect, a): a for a in accounts}
        for future in as_completed(futures):
            account_id = futures[future]
            try:
                records, seconds = future.result()
                metadata = write(account_id, records)  # writes happen on this thread, one account at a time
            except Exception as exc:  # one account's failure must not stop the others
                failed[account_id] = _error_text(exc)
                context.log.error(f"account {account_id}: refresh failed: {failed[account_id]}")
                continue
            done += 1
            metadata = {
                "account_id": dg.MetadataValue.text(account_id),
                "fetch_seconds": dg.MetadataValue.float(round(seconds, 3)),
                **(describe(records) if describe else {}),
                **metadata,
            }
            yield dg.AssetMaterialization(asset_key=context.asset_key, partition=account_id, metadata=metadata)
            if done % 25 == 0:
                context.log.info(f"{done}/{len(accounts)} accounts refreshed")
    context.log.info(
        f"{done}/{len(accounts)} accounts refreshed in {time.monotonic() - started:.1f}s"
        + (f"; failed: {', '.join(sorted(failed))}" if failed else "")
    )
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(accounts)} accounts failed; their previous cache is kept: "
            + "; ".join(f"{a}: {e}" for a, e in sorted(failed.items())[:20]),
            metadata={"failed_accounts": dg.MetadataValue.json(failed)},
        )
