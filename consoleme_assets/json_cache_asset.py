"""The shared shape of an unpartitioned dataset stored as one JSON document (ConsoleMe's string keys such as
ALL_AWS_ACCOUNTS, ALL_POLICIES), written by `JsonCacheIOManager` from the asset's output."""

from typing import Any

import dagster as dg


def json_cache_asset(name: str, group_name: str, kinds: set[str], calls_aws: bool = False, **kwargs: Any):
    """`calls_aws`: the asset calls AWS APIs, so it shares the `aws_api` pool with the per-account assets."""
    if calls_aws:
        kwargs["pool"] = "aws_api"
    return dg.asset(
        name=name,
        group_name=group_name,
        io_manager_key="json_cache_io_manager",
        kinds=kinds,
        metadata={"consoleme_dataset": name},
        # One refresh of a dataset at a time (dagster.yaml's tag concurrency limit).
        tags={"consoleme_assets/dataset": name},
        **kwargs,
    )
