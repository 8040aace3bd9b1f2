"""Publishing one refresh: the publish guard (never publish a partial answer from AWS as if it were the truth),
the change records (what changed, when and why), and what the UI shows of them.

Order, for each account: plan (compare with the cache; reads only), guard, write, then the change records.
The cache is written before its history: a failed history write is logged and shown in the metadata, and never
undoes or blocks the cache write (the records of that write are then missing from the history; they are still
in the run's metadata and log). The reverse order could record changes that were never published.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from ..stores.changes import ChangeSet, value_hash
from ..stores.field_diff import field_diff
from .datasets import Dataset
from .resources import ConsoleMeResource

ACCEPT_REMOVALS = "accept_removals"  # run config of a per-account dataset's op: accounts whose removals to accept
SUMMARY_ROWS = 50


class RemovalsRefused(Exception):
    """The guard kept an account's last good cache: its fresh fetch would remove too much of it."""


def cause_of(context: Any, **extra: Any) -> dict[str, Any]:
    """Why this run wrote: its launcher, from the run's tags (schedule, sensor, backfill, refill, CLI, UI)."""
    run = context.run
    tags = run.tags if run is not None else {}
    cause: dict[str, Any] = {"run_id": run.run_id if run is not None else context.run_id}
    if tags.get("consoleme_assets/trigger") == "refill":
        cause["type"] = "refill"
    elif "dagster/schedule_name" in tags:
        cause.update(type="schedule", schedule=tags["dagster/schedule_name"])
    elif "dagster/sensor_name" in tags:
        cause.update(type="sensor", sensor=tags["dagster/sensor_name"])
    elif "dagster/backfill" in tags:
        cause.update(type="backfill", backfill=tags["dagster/backfill"])
    elif tags.get("consoleme_assets/cli"):
        cause["type"] = "cli"
    else:
        cause["type"] = "ui"
    cause.update({k: v for k, v in extra.items() if v is not None})
    return cause


def accepted_removals(context: Any) -> set[str]:
    config = getattr(context, "op_config", None) or {}
    return set(config.get(ACCEPT_REMOVALS) or ())


def _record_id(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()


def _iso(epoch: float) -> str:
    """UTC, to the millisecond: two changes of one ARN in the same second (a refresh-role, then a removal) must
    still read back in the order they happened."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _volatile(entry: dict[str, Any], paths: tuple[str, ...]) -> bool:
    path = str(entry.get("path", ""))
    return any(path == p or path.startswith((p + ".", p + "[")) for p in paths)


class Publisher:
    """One run's publishing of one dataset: guard, change records, run summary. Used from the step's thread."""

    def __init__(
        self,
        dataset: Dataset,
        consoleme: ConsoleMeResource,
        cause: Mapping[str, Any],
        accepted: Iterable[str] = (),
        log: Any = None,
        clock: Any = time.time,
        launch: Any = None,
    ):
        """`launch`: the run's part in a split launch (lib/range_runs.RangeRun); only the launch's last run writes
        what is combined over all accounts. None: the run is a launch of its own."""
        self.dataset = dataset
        self.launch = launch
        self.settings = consoleme.settings
        self.cause = dict(cause)
        self.accepted = set(accepted)
        self.log = log
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.rows: list[dict[str, Any]] = []  # the run's first changes, for the UI
        self.history = None
        self.history_error: str | None = None
        self.volatile = tuple(self.settings.writes.volatile_fields)
        if self.settings.history.enabled:
            from ..stores.history_store import ChangeHistory

            self.history = ChangeHistory(consoleme.caches())

    # -- the guard -----------------------------------------------------------------------------------

    def check(self, account_id: str, removed: int, cached: int) -> None:
        """Refuse the account's write when its fetch would remove too much of what is cached, unless accepted."""
        guard = self.settings.publish_guard
        if account_id in self.accepted or not guard.blocks(removed, cached):
            return
        raise RemovalsRefused(
            f"account {account_id}: {self.dataset.name}: the fresh fetch would remove {removed} of its {cached} "
            f"cached items (more than {guard.max_removed_fraction:.0%} and more than {guard.min_removed}); its last "
            "good cache is kept. If AWS is right, accept: `consoleme-assets refresh --select "
            f"{self.dataset.name} --accounts {account_id} --accept-removals {account_id}`, or launch with run config "
            f"ops: {{{self.dataset.name}: {{config: {{{ACCEPT_REMOVALS}: ['{account_id}']}}}}}}"
        )

    # -- change records --------------------------------------------------------------------------------

    def record_entries(
        self,
        account_id: str,
        kind: str,
        changes: ChangeSet,
        previous: Mapping[str, Any],
        fresh: Mapping[str, Any],
        skip: Iterable[str] = (),
        view: Callable[[Any], Any] | None = None,
        cause: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Records of one account's keyed entries (`kind`: role, user, config_resource, ...). `view` turns an entry
        into what its history compares (e.g. a role without the fields only one of ConsoleMe's two role formats
        has): a changed entry whose view did not change (or changed only in `consoleme_assets.writes.volatile_fields`)
        is not recorded."""
        skipped = set(skip)
        now = self.clock()
        records = []
        for change, keys in (("added", changes.added), ("changed", changes.changed_keys), ("removed", changes.removed)):
            for key in keys:
                if key in skipped:
                    continue
                old, new = previous.get(key), fresh.get(key)
                a = None if change == "added" else (view(old) if view else old)
                b = None if change == "removed" else (view(new) if view else new)
                # A role's last use moves whenever it is used: not a change anyone asks the history about.
                diff = [d for d in field_diff(a, b) if not _volatile(d, self.volatile)]
                if change == "changed" and not diff:
                    continue
                fields = sorted({str(d.get("path", "")).split(".", 1)[0].split("[", 1)[0] for d in diff} - {""})
                records.append(self._record(now, account_id, key, kind, change, fields, diff, old, new, cause))
        return self._publish(records)

    def record_items(self, account_id: str, kind: str, added: Iterable[str], removed: Iterable[str]) -> list[dict]:
        """Records of one account's list items (buckets, queues, topics, managed policy ARNs)."""
        now = self.clock()
        records = [self._record(now, account_id, item, kind, "added", (), [], None, item) for item in added]
        records += [self._record(now, account_id, item, kind, "removed", (), [], item, None) for item in removed]
        return self._publish(records)

    def _record(
        self,
        now: float,
        account_id: str,
        key: str,
        kind: str,
        change: str,
        fields: Any,
        diff: list,
        old: Any,
        new: Any,
        cause: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        new_hash = value_hash(new) if new is not None else None
        return {
            "id": _record_id(now, self.dataset.name, key, change, new_hash),
            "time": _iso(now),
            "dataset": self.dataset.name,
            "account": account_id,
            "arn": key,
            "kind": kind,
            "change": change,
            "fields": list(fields),
            "diff": diff,
            "cause": {**self.cause, **(cause or {})},
            "old_hash": value_hash(old) if old is not None else None,
            "new_hash": new_hash,
        }

    def _publish(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            self.counts[record["change"]] += 1
            if len(self.rows) < SUMMARY_ROWS:
                self.rows.append(record)
        if records and self.history is not None and self.history_error is None:
            try:
                self.history.append(records)
            except Exception as exc:  # the cache is written; the history must not undo or block it
                self.history_error = f"{type(exc).__name__}: {exc}"
                if self.log is not None:
                    self.log.error(f"{self.dataset.name}: change history not written: {self.history_error}")
        return records

    # -- what the UI shows ------------------------------------------------------------------------------

    @staticmethod
    def account_metadata(counts: Mapping[str, int], first: Mapping[str, list[str]]) -> dict[str, Any]:
        return {
            "changes": dg.MetadataValue.json(dict(counts)),
            "changed_first": dg.MetadataValue.json({k: v for k, v in first.items() if v and k != "unchanged"}),
        }

    def completes_launch(self) -> bool:
        return self.launch is None or self.launch.completes_launch()

    def finish(self) -> dict[str, Any]:
        """The run's summary (counts and a table of its first changes), its place in a split launch, and where
        its history went."""
        meta: dict[str, Any] = {
            **(self.launch.metadata() if self.launch is not None else {}),
            "run_changes": dg.MetadataValue.json({k: self.counts.get(k, 0) for k in ("added", "changed", "removed")}),
            "run_changes_table": dg.MetadataValue.md(changes_table(self.rows, sum(self.counts.values()))),
        }
        if self.history is not None and self.history_error is None:
            try:
                uris = self.history.flush(self.cause.get("run_id", "run"))
                self.history.sweep(self.clock())
                if uris:
                    meta["history_objects"] = dg.MetadataValue.json(uris)
            except Exception as exc:
                self.history_error = f"{type(exc).__name__}: {exc}"
                if self.log is not None:
                    self.log.error(f"{self.dataset.name}: change history not written to S3: {self.history_error}")
        if self.history_error:
            meta["history_error"] = dg.MetadataValue.text(self.history_error)
        return meta


def changes_table(records: list[dict[str, Any]], total: int) -> str:
    """A Markdown table of the first records, and how many there were."""
    if not total:
        return "No changes."
    lines = [
        f"{total} change(s); the first {min(total, len(records))}:",
        "",
        "| change | kind | account | ARN | fields |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        fields = ", ".join(r["fields"]) or "-"
        lines.append(f"| {r['change']} | {r['kind']} | {r['account']} | `{r['arn']}` | {fields} |")
    return "\n".join(lines)
