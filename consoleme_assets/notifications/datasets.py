"""ALL_NOTIFICATIONS: ConsoleMe ran cache_notifications only on demand; here every 10 minutes (see schedules.py)."""

from ..lib.datasets import EVERY_10_MINUTES, Dataset

# No storage description: ALL_NOTIFICATIONS is written by ConsoleMeCaches.write_notifications, and the presence
# sensor and shape checks have never watched it (an empty hash is a normal state).
NOTIFICATIONS = Dataset(name="notifications", cadence=EVERY_10_MINUTES)

DATASETS = [NOTIFICATIONS]
