"""Every dataset's declaration, from each domain's `datasets.py` (see lib/datasets.py for what is derived)."""

from .accounts import datasets as accounts
from .authorization import datasets as authorization
from .aws_config import datasets as aws_config
from .cloudtrail import datasets as cloudtrail
from .iam import datasets as iam
from .inventory import datasets as inventory
from .lib.datasets import by_name
from .notifications import datasets as notifications
from .organizations import datasets as organizations
from .policies import datasets as policies
from .policy_requests import datasets as policy_requests
from .selfservice import datasets as selfservice

DATASETS = by_name(
    [
        *accounts.DATASETS,
        *authorization.DATASETS,
        *aws_config.DATASETS,
        *cloudtrail.DATASETS,
        *iam.DATASETS,
        *inventory.DATASETS,
        *notifications.DATASETS,
        *organizations.DATASETS,
        *policies.DATASETS,
        *policy_requests.DATASETS,
        *selfservice.DATASETS,
    ]
)

# {dataset: its storage description}: what ConsoleMeCaches reads and writes by name.
STORAGE = {name: d.storage for name, d in DATASETS.items() if d.storage is not None}
