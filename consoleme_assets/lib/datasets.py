"""The one declaration of a dataset: what it is in ConsoleMe (cadence, task names, storage) and what it is checked
against. Each domain declares its datasets in its `datasets.py`; `consoleme_assets.datasets` lists them all.
Everything else is derived from a declaration: the schedule's cron (`lib/cadences.py`), the freshness window
(`observability/freshness.py`), the compatibility keys (`observability/compat.py`), the pool and run tag, the
checks (`observability/checks.py`), and the Redis key the presence sensor watches (`stores/caches.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .concurrency import DATASET_TAG, dataset_pool

if TYPE_CHECKING:  # lib/ stays a leaf: the types are only named here
    from ..observability.shapes import Shape
    from ..stores.caches import Storage


@dataclass(frozen=True)
class Cadence:
    """ConsoleMe's beat interval for the task a dataset replaces (spec §1.4), and when our schedule fires (UTC)."""

    minutes: int  # the freshness window derives from this
    cron: str | tuple[str, ...]


EVERY_5_MINUTES = Cadence(5, "*/5 * * * *")
EVERY_10_MINUTES = Cadence(10, "*/10 * * * *")
EVERY_30_MINUTES = Cadence(30, "*/30 * * * *")
# `*/45` fires at :00 and :45; these four crons give a true 45-minute cadence.
EVERY_45_MINUTES = Cadence(45, ("0 0-21/3 * * *", "45 0-21/3 * * *", "30 1-22/3 * * *", "15 2-23/3 * * *"))
HOURLY = Cadence(60, "0 * * * *")


def hourly_at(minute: int) -> Cadence:
    return Cadence(60, f"{minute} * * * *")


def daily_at(hour: int) -> Cadence:
    return Cadence(24 * 60, f"0 {hour} * * *")


@dataclass(frozen=True)
class Dataset:
    name: str  # the asset key
    cadence: Cadence
    consoleme_tasks: tuple[str, ...] = ()  # ConsoleMe's task(s) it replaces: their `.last_success` compat keys
    storage: Storage | None = None  # where ConsoleMe's web tier reads it (a stores/ description); None: no cache
    shape: Shape | None = None  # the `cache_shape` check's validator; None: no shape check
    not_empty_because: str | None = None  # an empty cache fails the shape check, for this reason
    coverage: str | None = None  # what `covers_all_accounts` asserts; None: no coverage check

    @property
    def pool(self) -> str:
        return dataset_pool(self.name)

    @property
    def run_tags(self) -> dict[str, str]:
        return {DATASET_TAG: self.name}


def by_name(datasets: Iterable[Dataset]) -> dict[str, Dataset]:
    """{name: declaration}; a name declared twice is an error naming it."""
    out: dict[str, Dataset] = {}
    for dataset in datasets:
        if dataset.name in out:
            raise ValueError(f"dataset {dataset.name!r} is declared twice")
        out[dataset.name] = dataset
    return out


def shared_cadence(datasets: Iterable[Dataset]) -> Cadence:
    """The cadence of datasets refreshed by one schedule: they must all declare the same one."""
    cadences = {d.name: d.cadence for d in datasets}
    if not cadences:
        raise ValueError("a schedule needs at least one dataset")
    if len(set(cadences.values())) != 1:
        raise ValueError(f"datasets refreshed by one schedule declare different cadences: {cadences}")
    return next(iter(cadences.values()))


def dataset_run_tags(datasets: Iterable[Dataset]) -> dict[str, str]:
    """The run tag of a run refreshing these datasets: their names, sorted, comma separated."""
    return {DATASET_TAG: ",".join(sorted(d.name for d in datasets))}
