"""The asset of an unpartitioned dataset: its declared `build(context, consoleme)` makes the value from AWS or
from other caches, and the framework writes it to the declared storage (the one write path for every such
dataset; no IO manager: nothing downstream loads a value, each reads the caches it needs through the stores).

`build` returns the value, or `Built(value, metadata)`, or None to materialize nothing this time (its log says
why; the cache keeps its last good value). A dataset without storage returns its metadata as `Built(None, ...)`.
Datasets declared `built_with` another are outputs of that one's op: its build returns {name: value or Built}.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from ..stores.caches import ConsoleMeCaches, HashDocument, JsonDocument, Storage
from ..stores.changes import compare
from .completeness import Gap, upstream_gaps
from .datasets import Built, Dataset
from .publishing import Publisher, cause_of
from .resources import ConsoleMeResource
from .write_metadata import report_metadata


def write_value(caches: ConsoleMeCaches, storage: Storage | None, value: Any) -> dict[str, Any]:
    """Write one dataset's value to its declared storage; the write's metadata."""
    if storage is None:
        return {}
    if isinstance(storage, JsonDocument):
        return report_metadata(caches.write_json(storage, value))
    if isinstance(storage, HashDocument):
        return report_metadata(caches.write_hash_document(storage, value))
    raise TypeError(f"an unpartitioned dataset is stored as a JSON document or a hash, not {type(storage).__name__}")


def _materialization(
    dataset: Dataset, produced: Any, consoleme: ConsoleMeResource, context: dg.AssetExecutionContext
) -> dg.MaterializeResult:
    built = produced if isinstance(produced, Built) else Built(produced)
    caches = consoleme.caches()
    metadata = dict(built.metadata)
    recorded = dataset.history_items is not None and isinstance(dataset.storage, JsonDocument)
    previous = caches.read_json(dataset.storage) if recorded else None
    written = write_value(caches, dataset.storage, built.value)
    metadata.update(written)
    rows = metadata.get("dagster/row_count")
    rows = getattr(rows, "value", rows)
    unchanged = dataset.storage is not None and not getattr(written.get("redis_fields_written"), "value", 1)
    # The run's line in `make dev`'s terminal (INFO): what was refreshed, how big, whether it changed.
    context.log.info(
        f"{dataset.name}: refreshed"
        + (f", {rows} entries" if rows is not None else "")
        + (", unchanged" if unchanged else "")
    )
    if recorded and previous is not None:  # the cache is written first; a first build sets the baseline
        metadata.update(record_document(dataset, consoleme, context, previous, built.value))
    return dg.MaterializeResult(asset_key=dataset.name, metadata=metadata)


def record_document(
    dataset: Dataset, consoleme: ConsoleMeResource, context: dg.AssetExecutionContext, previous: Any, new: Any
) -> dict[str, Any]:
    """Change records of the items a document holds (e.g. one per SCP), compared with the cached document."""
    before, after = dataset.history_items(previous), dataset.history_items(new)
    publisher = Publisher(dataset, consoleme, cause_of(context), log=context.log)
    by_account: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for items, side in ((before, 0), (after, 1)):
        for key, (account, item) in items.items():
            by_account.setdefault(account, ({}, {}))[side][key] = item
    for account, (old, fresh) in sorted(by_account.items()):
        publisher.record_entries(account, str(dataset.record_kind), compare(old, fresh), old, fresh)
    return publisher.finish()


AUTOMATED = ("dagster/schedule_name", "dagster/sensor_name")


def refuse(context: dg.AssetExecutionContext, datasets: Sequence[Dataset], gaps: list[Gap]) -> Iterator[Any]:
    """Not built, as its upstream is incomplete: the cache keeps its last good value. A scheduled or sensor run
    (its tick may have seen the upstream whole moments before a flush) records why on each asset page (an
    observation) and ends green, as its next tick will build it; a launch by a person fails, saying why."""
    head = datasets[0].name
    why = " | ".join(f"{g.dataset}: {g.describe()}" for g in gaps)
    message = (
        f"{head} not built: its upstream is incomplete: {why}. Its cache keeps its last good value; "
        "cache_presence_sensor refills the upstream, and the next run builds it."
    )
    detail = {"incomplete_upstream": dg.MetadataValue.json({g.dataset: g.describe() for g in gaps})}
    if not any(tag in context.run.tags for tag in AUTOMATED):
        raise dg.Failure(description=message, metadata=detail)
    context.log.warning(message)
    for dataset in datasets:
        yield dg.AssetObservation(asset_key=dataset.name, description=message, metadata=detail)


def built_asset(
    datasets: Sequence[Dataset],
    freshness: Mapping[str, dg.FreshnessPolicy | None],
    registry: Mapping[str, Dataset] | None = None,
) -> dg.AssetsDefinition:
    """One op writing `datasets` (the first declares the build; the others are `built_with` it). `registry`: every
    declaration, to judge the datasets they are built from (nothing is built from a cache with a gap)."""
    head = datasets[0]
    extra_keys = sorted(head.resources)
    multi = len(datasets) > 1

    @dg.multi_asset(
        name=head.name,
        specs=[
            dg.AssetSpec(
                d.name,
                description=d.description,
                group_name=d.group,
                kinds=set(d.kinds),
                deps=[dg.AssetKey(n) for n in d.deps],
                metadata={"consoleme_dataset": d.name},
                freshness_policy=freshness.get(d.name),
                skippable=True,  # a build may materialize nothing (it returns None)
            )
            for d in datasets
        ],
        pool=head.pool,  # one refresh of a dataset at a time, however launched
        op_tags=head.run_tags,
        required_resource_keys={"consoleme", *extra_keys},
    )
    def build(context: dg.AssetExecutionContext):
        consoleme: ConsoleMeResource = context.resources.consoleme
        extra = {key: getattr(context.resources, key) for key in extra_keys}
        gaps = upstream_gaps(head, dict(registry or {}), consoleme.caches(), context.instance)
        if gaps:  # built from a cache missing what its refreshes wrote, it would publish a partial answer
            yield from refuse(context, datasets, gaps)
            return
        produced = head.build(context, consoleme, **extra)
        if produced is None:
            return
        if isinstance(produced, dg.MaterializeResult):  # no storage: the build's own result
            yield (
                produced
                if produced.asset_key
                else dg.MaterializeResult(asset_key=head.name, metadata=produced.metadata)
            )
            return
        if not multi:
            yield _materialization(head, produced, consoleme, context)
            return
        for dataset in datasets:  # in declaration order: the order ConsoleMe wrote them
            if dataset.name in produced:
                yield _materialization(dataset, produced[dataset.name], consoleme, context)

    return build
