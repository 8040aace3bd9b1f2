"""The shared shape of an unpartitioned dataset stored as one JSON document (ConsoleMe's string keys such as
ALL_AWS_ACCOUNTS, ALL_POLICIES), written by `JsonCacheIOManager` from the asset's output."""

from typing import Any

import dagster as dg

from .concurrency import dataset_pool


def json_cache_asset(name: str, group_name: str, kinds: set[str], **kwargs: Any):
    return dg.asset(
        name=name,
        group_name=group_name,
        io_manager_key="json_cache_io_manager",
        kinds=kinds,
        metadata={"consoleme_dataset": name},
        pool=dataset_pool(name),  # one refresh of a dataset at a time, however launched
        **kwargs,
    )
