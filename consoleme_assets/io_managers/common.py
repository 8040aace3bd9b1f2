"""Helpers of the IO manager."""

from typing import Any

import dagster as dg


def dataset_of(metadata: Any, asset_key: dg.AssetKey) -> str:
    name = (metadata or {}).get("consoleme_dataset")
    if name is None:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()} has no 'consoleme_dataset' metadata"
        )
    return getattr(name, "value", name)
