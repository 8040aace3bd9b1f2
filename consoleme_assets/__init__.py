"""consoleme-assets: Dagster assets that keep ConsoleMe's AWS caches fresh."""

import warnings

# backfill_policy is Beta in Dagster 1.13; we rely on it on purpose (one run refreshes many accounts).
warnings.filterwarnings("ignore", message=".*backfill_policy.*")
