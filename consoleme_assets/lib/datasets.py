"""The one declaration of a dataset. A domain declares each of its datasets once, in its `datasets.py`: what it
is in ConsoleMe (cadence, task names, where it is stored), how it is made (a fetch per account, or a build from
the caches), and what it is checked against. `lib/definitions.py` derives everything else from the declarations:
the asset and its description, kinds and group, the job and schedule, the freshness policy, the checks, the pool
and run tag, and what the cache-presence sensor watches. `docs/adding-a-dataset.md` walks through one.

Three ways a dataset is made (`how` below):
- `fetch(consoleme, account_id)`, per account, for datasets stored as `AccountLists` (one hash field per
  account): the framework refreshes every account of a run concurrently and writes each as it lands.
- `refresh(context, consoleme)`, per account, for datasets with a store of their own (IAM, AWS Config): it
  yields one materialization per landed account (`lib/account_refresh.refresh_accounts`).
- `build(context, consoleme)`, unpartitioned: returns the document (or `Built`, with metadata) that the
  framework writes to the declared storage; or `None` to materialize nothing this time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..stores.caches import Storage
from .concurrency import DATASET_TAG, dataset_pool
from .shapes import Shape


@dataclass(frozen=True)
class Cadence:
    """ConsoleMe's beat interval for the task a dataset replaces (spec §1.4), and when our schedule fires (UTC)."""

    minutes: int  # the freshness window derives from this
    cron: str | tuple[str, ...]
    label: str  # the schedule's name is `<job>_<label>`
    step: int = 60  # the cron may be moved up to step - 1 minutes later, keeping its interval (lib/spread.py)

    @property
    def crons(self) -> list[str]:
        return [self.cron] if isinstance(self.cron, str) else list(self.cron)


EVERY_5_MINUTES = Cadence(5, "*/5 * * * *", "every_5_minutes", step=5)
EVERY_10_MINUTES = Cadence(10, "*/10 * * * *", "every_10_minutes", step=10)
EVERY_15_MINUTES = Cadence(15, "*/15 * * * *", "every_15_minutes", step=15)
EVERY_30_MINUTES = Cadence(30, "*/30 * * * *", "every_30_minutes", step=30)
# `*/45` fires at :00 and :45; these four crons give a true 45-minute cadence.
EVERY_45_MINUTES = Cadence(
    45, ("0 0-21/3 * * *", "45 0-21/3 * * *", "30 1-22/3 * * *", "15 2-23/3 * * *"), "every_45_minutes", step=15
)
HOURLY = Cadence(60, "0 * * * *", "hourly")


def hourly_at(minute: int) -> Cadence:
    return Cadence(60, f"{minute} * * * *", "hourly")


def daily_at(hour: int) -> Cadence:
    return Cadence(24 * 60, f"0 {hour} * * *", "daily")


@dataclass(frozen=True)
class Built:
    """What an unpartitioned build returns when it has metadata to show: the document and its metadata."""

    value: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str  # the asset key
    description: str
    group: str  # the asset group in the UI
    kinds: frozenset[str]
    cadence: Cadence
    # How it is made: exactly one of these (see the module docstring).
    fetch: Callable[..., Any] | None = None
    refresh: Callable[..., Any] | None = None
    build: Callable[..., Any] | None = None
    consoleme_tasks: tuple[str, ...] = ()  # ConsoleMe's task(s) it replaces: their `.last_success` compat keys
    storage: Storage | None = None  # where ConsoleMe's web tier reads it (a stores/ description); None: no cache
    shape: Shape | None = None  # the `cache_shape` check's validator; None: no shape check
    not_empty_because: str | None = None  # an empty cache fails the shape check, for this reason
    coverage: str | None = None  # what `covers_all_accounts` asserts; None: no coverage check
    deps: tuple[str, ...] = ()  # the datasets it is built from (per-account datasets also depend on the accounts)
    job: str | None = None  # datasets naming the same job refresh together (one job, one schedule); default: name
    built_with: str | None = None  # another dataset whose `build` writes this one too (one op, several outputs)
    partitions_source: bool = False  # its build keeps the account partitions equal to the active accounts
    resources: Mapping[str, Any] = field(default_factory=dict)  # extra resources its fetch/refresh/build take
    # Returns a reason to skip a scheduled run (e.g. its source is empty), else None.
    schedule_guard: Callable[..., str | None] | None = None
    # What one item is called in the change history: a list dataset's items ("bucket"), or an ARN hash's kinds
    # ({"roles": "role", ...}); None: not recorded.
    record_kind: str | Mapping[str, str] | None = None
    # An unpartitioned dataset whose document holds recorded items: document -> {key: (account, item)}.
    history_items: Callable[[Any], Mapping[str, tuple[str, Any]]] | None = None

    def __post_init__(self) -> None:
        ways = [w for w in ("fetch", "refresh", "build") if getattr(self, w) is not None]
        if self.built_with is None and len(ways) != 1:
            raise ValueError(f"dataset {self.name!r}: declare exactly one of fetch, refresh or build (got {ways})")
        if self.built_with is not None and ways:
            raise ValueError(f"dataset {self.name!r} is built with {self.built_with!r}: it declares no {ways[0]}")
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        object.__setattr__(self, "deps", tuple(self.deps))

    @property
    def per_account(self) -> bool:
        return self.fetch is not None or self.refresh is not None

    @property
    def job_name(self) -> str:
        return f"{self.job or self.name}_job"

    @property
    def pool(self) -> str:
        # Outputs built by one op share that op's pool.
        return dataset_pool(self.built_with or self.name)

    @property
    def run_tags(self) -> dict[str, str]:
        return {DATASET_TAG: self.name}


def by_name(datasets: Iterable[Dataset]) -> dict[str, Dataset]:
    """{name: declaration}; a name declared twice is an error naming it."""
    out: dict[str, Dataset] = {}
    for dataset in datasets:
        if dataset.name in out and out[dataset.name] is not dataset:
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
