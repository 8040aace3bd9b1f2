"""consoleme-assets: Dagster assets that keep ConsoleMe's AWS caches fresh."""

import warnings

# backfill_policy is Beta in Dagster 1.13; we rely on it on purpose (one run refreshes many accounts).
warnings.filterwarnings("ignore", message=".*backfill_policy.*")
# Dagster 1.13 itself passes `owners=None` when it rebinds a sensor to its job (SensorDefinition.with_attributes),
# which warns "Parameter `owners` ... is currently in beta" in every process that loads the code: every run
# printed two such lines into the `make dev` terminal. We set no owners; the warning is not ours to act on.
warnings.filterwarnings("ignore", message=r".*Parameter `owners` of initializer `SensorDefinition.__init__`.*")
