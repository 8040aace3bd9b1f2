"""The code location's derived definitions by name, for tests that materialize one dataset or tick one schedule
(the assets, jobs and schedules are derived from the declarations by lib/definitions.py; there is no module
that defines them by hand)."""

import dagster as dg

from consoleme_assets.definitions import _package, defs, discover
from consoleme_assets.lib.datasets import by_name
from consoleme_assets.lib.definitions import dataset_assets
from consoleme_assets.lib.resources import load_deployment_settings

DATASETS = by_name(discover(_package())[0])
STORAGE = {name: d.storage for name, d in DATASETS.items() if d.storage is not None}
# The assets as the code location builds them, without its resources bound (tests pass their own).
_ASSETS = {k.to_user_string(): a for a in dataset_assets(DATASETS, load_deployment_settings()) for k in a.keys}


def asset(name: str) -> dg.AssetsDefinition:
    return _ASSETS[name]


def schedule(name: str) -> dg.ScheduleDefinition:
    return defs.resolve_schedule_def(name)


aws_accounts = asset("aws_accounts")
iam_resources = asset("iam_resources")
iam_role_limits = asset("iam_role_limits")
s3_buckets = asset("s3_buckets")
managed_policies = asset("managed_policies")
sqs_queues = asset("sqs_queues")
sns_topics = asset("sns_topics")
aws_config_resources = asset("aws_config_resources")
cloudtrail_denies = asset("cloudtrail_denies")
cloudtrail_errors_by_arn = asset("cloudtrail_errors_by_arn")
credential_authorization_mappings = asset("credential_authorization_mapping")
notifications = asset("notifications")
organization_structure = asset("organization_structure")
service_control_policies = asset("service_control_policies")
policies_table = asset("policies_table")
policy_requests = asset("policy_requests")
templated_resources = asset("templated_resources")
self_service_typeahead = asset("self_service_typeahead")
