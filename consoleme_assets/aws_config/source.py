"""`AwsConfigSource`: the resource the `aws_config_resources` refresh queries AWS Config through (declared with
the dataset, so the code location provides it). The queries are aws/config_resources.py's; tests substitute a
subclass to choose the regions or each region's answer."""

from typing import Any

import dagster as dg
from pydantic import Field

from ..aws.config_resources import ConfigSelection, config_regions, select_account, select_all
from ..aws.sessions import AwsSessions
from ..settings import Settings


class AwsConfigSource(dg.ConfigurableResource):
    """Where the asset gets AWS Config rows: the real SelectResourceConfig calls, regions queried concurrently."""

    max_concurrent_regions: int = Field(default=4, ge=1, le=32, description="regions queried at once per account")

    def regions(self, settings: Settings) -> list[str]:
        return config_regions(settings)

    def select(self, sessions: AwsSessions, settings: Settings, account_id: str) -> ConfigSelection:
        return select_account(
            sessions, settings, account_id, self.regions(settings), self.max_concurrent_regions, self.select_region
        )

    def select_region(self, client: Any, account_id: str, region: str, expression: str) -> list[dict[str, Any]]:
        """One region's rows. Raise ClientError/BotoCoreError to mark just this region failed."""
        return select_all(client, expression)
