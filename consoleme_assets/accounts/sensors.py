"""Keeps the `aws_accounts` partitions in step with AWS between materializations of `aws_accounts`."""

import dagster as dg

from ..aws.accounts import active_account_ids, discover_accounts
from ..lib.partitions import aws_accounts_partitions, partition_changes
from ..lib.resources import ConsoleMeResource


@dg.sensor(
    name="aws_account_discovery_sensor",
    target=dg.AssetSelection.assets("aws_accounts"),
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Discovers accounts (Organizations / config) every 5 minutes; adds partitions for new active "
    "accounts, removes closed or suspended ones, and refreshes ALL_AWS_ACCOUNTS when anything changed.",
)
def aws_account_discovery_sensor(context: dg.SensorEvaluationContext, consoleme: ConsoleMeResource):
    accounts, source = discover_accounts(consoleme.settings, consoleme.sessions)
    known = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    added, removed = partition_changes(known, active_account_ids(accounts))
    if not added and not removed:
        return dg.SkipReason(f"{len(known)} account partitions match {source}")
    requests = []
    if added:
        requests.append(aws_accounts_partitions.build_add_request(added))
    if removed:
        requests.append(aws_accounts_partitions.build_delete_request(removed))
    context.log.info(f"accounts from {source}: adding {added}, removing {removed}")
    return dg.SensorResult(
        dynamic_partitions_requests=requests,
        # Rewrite ALL_AWS_ACCOUNTS now rather than at the next hourly refresh.
        run_requests=[dg.RunRequest()],
    )
