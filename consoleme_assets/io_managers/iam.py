"""IAM principals and policies: four ARN-keyed hashes, the DynamoDB role table and the S3 files."""

from typing import Any

import dagster as dg

from ..stores.iam_cache import KINDS, IamAccount, IamCache
from .common import PerAccountIOManager, report_metadata


class IamResourcesIOManager(PerAccountIOManager):
    """IAM_ROLE/USER/GROUP/POLICY_CACHE, consoleme_iamroles_global and the IAM S3 files."""

    def cache(self) -> IamCache:
        return IamCache(self.consoleme.caches())

    def write_account(self, account: IamAccount) -> dict[str, Any]:
        report, counts = self.cache().write_account(account)
        meta = report_metadata(report)
        meta["removed_entries"] = dg.MetadataValue.json({k: v["deleted"] for k, v in counts.items()})
        return meta

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
