"""The one IO manager: unpartitioned datasets stored as one JSON document (ALL_AWS_ACCOUNTS, ALL_POLICIES, ...),
written from the asset's output and loaded back for a downstream input.

Per-account datasets have none: they are refreshed many accounts per run, and one account failing must not
mark the others failed, nor mark itself materialized, so their assets write each account that succeeded
through the stores (`ConsoleMeResource.caches()` / `iam_cache()` / `config_cache()`) and yield its
`AssetMaterialization` (see `lib/account_refresh.py`).
"""

from .common import dataset_of
from .json_cache import JsonCacheIOManager

__all__ = ["JsonCacheIOManager", "dataset_of"]
