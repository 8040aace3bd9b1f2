"""IAM principals and policies: four ARN-keyed hashes, the DynamoDB role table and the S3 files."""

from typing import Any

import dagster as dg

from ..resources import ConsoleMeResource
from ..stores.iam_cache import KINDS, IamAccount, IamCache
from .common import report_metadata


class IamResourcesIOManager(dg.ConfigurableIOManager):
    consoleme: dg.ResourceDependency[ConsoleMeResource]

    def cache(self) -> IamCache:
        return IamCache(self.consoleme.caches())

    def write_account(self, account: IamAccount) -> dict[str, Any]:
        report, counts = self.cache().write_account(account)
        meta = report_metadata(report)
        meta["removed_entries"] = dg.MetadataValue.json({k: v["deleted"] for k, v in counts.items()})
        return meta

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        raise dg.DagsterInvariantViolationError(
            f"{context.asset_key.to_user_string()}: per-account assets must yield AssetMaterialization per account "
            "(via IamResourcesIOManager.write_account), not return a value"
        )

    def load_input(self, context: dg.InputContext) -> dict[str, dict[str, dict[str, Any]]]:
        """{kind: {arn: entry}} for the requested accounts (all when unpartitioned downstream)."""
        import json

        accounts = set(context.asset_partition_keys) if context.has_asset_partitions else None
        cache = self.cache()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for kind in KINDS:
            entries = {}
            for arn, raw in cache.caches.redis.client.hscan_iter(cache.redis_key(kind), count=1000):
                entry = json.loads(raw)
                if accounts is None or str(entry.get("accountId")) in accounts:
                    entries[arn] = entry
            out[kind] = entries
        return out
