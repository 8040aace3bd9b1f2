"""A per-account run's part in its launch (lib/ranges.py): it holds its accounts while it refreshes them, and
learns whether it is the launch's last run (then it builds the combined outputs and judges coverage of all)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from ..stores.launches import LaunchStore
from .dagster_private import backfill_partition_keys
from .partitions import aws_accounts_partitions
from .ranges import BACKFILL_TAG, LAUNCH_TAG, LaunchPlace, place_of, runs_for_selection

CLAIM_TTL_SECONDS = 300  # a dead run's claims free its accounts after this
POLL_SECONDS = 2.0


def backfill_runs(context: Any, tags: dict[str, str], max_per_run: int | None) -> int | None:
    """How many runs a UI backfill split by `BackfillPolicy.multi_run` makes for this asset (None: not one)."""
    if BACKFILL_TAG not in tags or LAUNCH_TAG in tags or max_per_run is None:
        return None
    chosen = backfill_partition_keys(context.instance, tags[BACKFILL_TAG], context.asset_key)
    if chosen is None:
        return None
    known = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    return runs_for_selection(known, chosen, max_per_run)


class RangeRun:
    """One run's accounts of one dataset, and its place in the launch that made it."""

    def __init__(
        self,
        context: Any,
        dataset: str,
        store: LaunchStore,
        max_per_run: int | None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        run = context.run
        tags = dict(run.tags) if run is not None else {}
        self.run_id = run.run_id if run is not None else context.run_id
        self.accounts = list(context.partition_keys)
        self.dataset = dataset
        self.store = store
        self.place: LaunchPlace = place_of(tags, self.accounts, backfill_runs(context, tags, max_per_run))
        self.claims = store.claims(dataset, self.run_id, CLAIM_TTL_SECONDS)
        self.sleep = sleep
        self._last: bool | None = None

    @property
    def split(self) -> bool:
        return self.place.total > 1

    def describe(self) -> str:
        return f"run {self.place.member} of {self.place.total} of launch {self.place.launch}"

    @contextmanager
    def holding(self, log: Any) -> Iterator[None]:
        """Claim every account of the run (waiting while another run refreshes one of them), keep the claims
        alive, release them at the end."""
        waited_for = None
        started = time.monotonic()
        while (held := self.claims.try_claim(self.accounts)) is not None:
            if held[1] != waited_for:
                waited_for = held[1]
                log.info(
                    f"{self.dataset}: waiting for run {held[1]}, which is refreshing account {held[0]}: two runs "
                    "never refresh one account at once"
                )
            self.sleep(POLL_SECONDS)
        if waited_for is not None:
            log.info(f"{self.dataset}: accounts free after {time.monotonic() - started:.0f}s")
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(CLAIM_TTL_SECONDS / 3):
                try:
                    self.claims.renew(self.accounts)
                except Exception as exc:  # Redis away for a moment: try again next time
                    log.warning(f"{self.dataset}: renewing the account claims failed: {exc}")

        renewer = threading.Thread(target=renew, name=f"claims-{self.dataset}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                self.claims.release(self.accounts)
            except Exception as exc:  # never mask the run's own outcome; the claims expire on their own
                log.warning(f"{self.dataset}: releasing the account claims failed ({exc}); they expire in 5 minutes")

    def completes_launch(self) -> bool:
        """Whether this run finished its launch (asked once; later calls repeat the answer). A run alone is its
        own launch."""
        if self._last is None:
            place = self.place
            self._last = not self.split or self.store.finish_range(
                self.dataset, place.launch, place.member, place.total
            )
        return self._last

    def metadata(self) -> dict[str, Any]:
        if not self.split:
            return {}
        return {
            "launch": dg.MetadataValue.text(self.place.launch),
            "launch_run": dg.MetadataValue.text(f"{self.place.member} of {self.place.total}"),
            "completed_launch": dg.MetadataValue.bool(bool(self._last)),
        }
