"""The one Definitions object: each domain's definitions plus the shared resources."""

import dagster as dg

from .accounts import definitions as accounts
from .authorization import definitions as authorization
from .aws.config_resources import AwsConfigSource
from .aws_config import definitions as aws_config
from .cloudtrail import definitions as cloudtrail
from .iam import definitions as iam
from .inventory import definitions as inventory
from .io_managers import JsonCacheIOManager
from .lib.executor import forkserver_or_in_process_executor
from .notifications import definitions as notifications
from .observability.definitions import with_observability
from .organizations import definitions as organizations
from .policies import definitions as policies
from .policy_requests import definitions as policy_requests
from .resources import ConsoleMeResource
from .selfservice import definitions as selfservice


def build_resources(config_file: str | None = None) -> dict:
    consoleme = ConsoleMeResource(config_file=config_file)
    return {
        "consoleme": consoleme,
        "json_cache_io_manager": JsonCacheIOManager(consoleme=consoleme),
        "aws_config_source": AwsConfigSource(),
    }


def build_definitions(executor: dg.ExecutorDefinition = forkserver_or_in_process_executor) -> dg.Definitions:
    """Every domain's definitions, with freshness policies, checks, alert and metrics sensors applied at once.
    `executor`: by default steps fork from a server that imported these definitions once per run
    (lib/executor.py); a deployment may pass e.g. `dagster_k8s.k8s_job_executor` (deploy/README.md)."""
    return with_observability(
        dg.Definitions.merge(
            accounts.defs,
            authorization.defs,
            aws_config.defs,
            cloudtrail.defs,
            iam.defs,
            inventory.defs,
            notifications.defs,
            organizations.defs,
            policies.defs,
            policy_requests.defs,
            selfservice.defs,
            dg.Definitions(resources=build_resources(), executor=executor),
        )
    )


defs = build_definitions()
