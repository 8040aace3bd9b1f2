"""IO managers over ConsoleMe's caches: they own every Redis/S3 write and read of the assets.

Per-account datasets are refreshed many accounts per run, and one account failing must not mark the
others failed, nor mark itself materialized. Dagster records an `Output` for every partition of a range
run, so per-account assets instead call `write_account` for each account that succeeded and yield its
`AssetMaterialization`; `handle_output` is never used for them. `load_input` serves downstream assets.
"""

from .account_lists import AccountListIOManager
from .common import dataset_of, report_metadata
from .json_cache import JsonCacheIOManager

__all__ = ["AccountListIOManager", "JsonCacheIOManager", "dataset_of", "report_metadata"]
