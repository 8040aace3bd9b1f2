"""Unpartitioned datasets stored as one Redis string plus its S3 copy (ALL_AWS_ACCOUNTS, ...)."""

from typing import Any

import dagster as dg

from ..lib.write_metadata import report_metadata
from ..resources import ConsoleMeResource
from .common import dataset_of


class JsonCacheIOManager(dg.ConfigurableIOManager):
    """Unpartitioned datasets stored as one Redis string (stamped in LAST_UPDATED) plus its S3 copy."""

    consoleme: dg.ResourceDependency[ConsoleMeResource]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        dataset = dataset_of(context.definition_metadata, context.asset_key)
        report = self.consoleme.caches().write_json(dataset, obj)
        context.add_output_metadata(report_metadata(report))

    def load_input(self, context: dg.InputContext) -> Any:
        dataset = dataset_of(context.upstream_output.definition_metadata, context.asset_key)
        data = self.consoleme.caches().read_json(dataset)
        if data is None:
            raise dg.DagsterInvariantViolationError(f"{context.asset_key.to_user_string()}: nothing cached yet")
        return data
