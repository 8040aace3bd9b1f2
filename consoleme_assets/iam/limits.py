"""`iam_role_limits`: how close each account is to its IAM role quota (ConsoleMe get_iam_role_limit). No cache is
written; the ratios are in the materialization's metadata, checked by `iam_role_limits_within_quota`."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg

from ..aws.iam import role_quota_usage
from ..aws.sessions import describe_aws_error
from ..lib.concurrency import dataset_pool
from ..lib.partitions import aws_accounts_partitions
from ..lib.resources import ConsoleMeResource

ASSET = "iam_role_limits"


def role_usage(summary: dict[str, int]) -> dict[str, Any]:
    roles, quota = int(summary.get("Roles", 0)), int(summary.get("RolesQuota", 0))
    return {"roles": roles, "quota": quota, "ratio": round(roles / quota, 4) if quota else 0.0}


def read_role_limits(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> dg.MaterializeResult:
    accounts = context.instance.get_dynamic_partitions(aws_accounts_partitions.name)
    sessions = consoleme.sessions

    def read(account_id: str) -> tuple[str, dict[str, Any] | str]:
        try:
            return account_id, role_usage(role_quota_usage(sessions, account_id))
        except Exception as exc:  # one unreadable account must not hide the others
            return account_id, describe_aws_error(exc)

    with ThreadPoolExecutor(max_workers=consoleme.settings.tuning.max_concurrent_accounts) as pool:
        results = dict(pool.map(read, accounts))
    usage = {a: r for a, r in results.items() if isinstance(r, dict)}
    errors = {a: r for a, r in results.items() if isinstance(r, str)}
    ratios = {a: u["ratio"] for a, u in usage.items()}
    return dg.MaterializeResult(
        metadata={
            "usage": dg.MetadataValue.json(usage),
            "ratios": dg.MetadataValue.json(ratios),
            "max_ratio": dg.MetadataValue.float(max(ratios.values(), default=0.0)),
            "unreadable_accounts": dg.MetadataValue.json(errors),
            "dagster/row_count": len(usage),
        }
    )


@dg.asset_check(
    asset=ASSET,
    pool=dataset_pool(ASSET),  # never evaluated while the dataset is being refreshed
    description="Warns when an account uses more than "
    "consoleme_assets.iam_role_limits.warn_ratio of its role quota, fails above fail_ratio.",
)
def iam_role_limits_within_quota(
    context: dg.AssetCheckExecutionContext, consoleme: ConsoleMeResource
) -> dg.AssetCheckResult:
    limits = consoleme.settings.role_limits
    event = context.instance.get_latest_materialization_event(dg.AssetKey(ASSET))
    meta = event.asset_materialization.metadata if event else {}
    ratios: dict[str, float] = meta["ratios"].value if "ratios" in meta else {}
    unreadable = meta["unreadable_accounts"].value if "unreadable_accounts" in meta else {}
    over_fail = {a: r for a, r in ratios.items() if r > limits.fail_ratio}
    over_warn = {a: r for a, r in ratios.items() if limits.warn_ratio < r <= limits.fail_ratio}
    passed = not over_fail and not over_warn and not unreadable
    severity = dg.AssetCheckSeverity.ERROR if over_fail else dg.AssetCheckSeverity.WARN
    text = "; ".join(
        filter(
            None,
            [
                f"over {limits.fail_ratio:.0%}: {', '.join(f'{a} ({r:.0%})' for a, r in sorted(over_fail.items()))}"
                if over_fail
                else "",
                f"over {limits.warn_ratio:.0%}: {', '.join(f'{a} ({r:.0%})' for a, r in sorted(over_warn.items()))}"
                if over_warn
                else "",
                f"unreadable: {', '.join(sorted(unreadable))}" if unreadable else "",
            ],
        )
    )
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=text or "all accounts within quota",
        metadata={
            "over_fail_ratio": dg.MetadataValue.json(over_fail),
            "over_warn_ratio": dg.MetadataValue.json(over_warn),
            "unreadable_accounts": dg.MetadataValue.json(unreadable),
        },
    )
