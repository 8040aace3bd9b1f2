"""The shared shape of an unpartitioned dataset stored as one JSON document (ConsoleMe's string keys such as
ALL_AWS_ACCOUNTS, ALL_POLICIES), written by `JsonCacheIOManager` from the asset's output."""

from typing import Any

import dagster as dg

from .datasets import Dataset


def json_cache_asset(dataset: Dataset, group_name: str, kinds: set[str], **kwargs: Any):
    """The asset of a declared dataset whose storage is a `JsonDataset` (written by the IO manager, by name)."""
    return dg.asset(
        name=dataset.name,
        group_name=group_name,
        io_manager_key="json_cache_io_manager",
        kinds=kinds,
        metadata={"consoleme_dataset": dataset.name},
        pool=dataset.pool,  # one refresh of a dataset at a time, however launched
        **kwargs,
    )
