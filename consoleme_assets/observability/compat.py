"""ConsoleMe's per-task success keys, for alerts people built on them (spec §1.2, §5.6):
`consoleme.celery_tasks.celery_tasks.<task>.last_success` (epoch int, set when the task succeeded) and
`.time_since_last_success` (seconds, refreshed every minute by report_celery_last_success_metrics).
`STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED` needs nothing here: every store call stamps it."""

from __future__ import annotations

from collections.abc import Mapping

from ..stores.caches import ConsoleMeCaches

PREFIX = "consoleme.celery_tasks.celery_tasks."
REPORT_TASK = "report_celery_last_success_metrics"

# Our asset -> the ConsoleMe task(s) it replaces. Per-account assets also feed the `_for_account` task: in
# ConsoleMe any one account's subtask succeeding refreshed that key, and the latest partition does the same here.
TASKS_BY_ASSET: dict[str, tuple[str, ...]] = {
    "aws_accounts": ("cache_cloud_account_mapping",),
    "iam_resources": ("cache_iam_resources_across_accounts", "cache_iam_resources_for_account"),
    "s3_buckets": ("cache_s3_buckets_across_accounts", "cache_s3_buckets_for_account"),
    "sqs_queues": ("cache_sqs_queues_across_accounts", "cache_sqs_queues_for_account"),
    "sns_topics": ("cache_sns_topics_across_accounts", "cache_sns_topics_for_account"),
    "managed_policies": ("cache_managed_policies_across_accounts", "cache_managed_policies_for_account"),
    "aws_config_resources": (
        "cache_resources_from_aws_config_across_accounts", "cache_resources_from_aws_config_for_account",
    ),
    "policies_table": ("cache_policies_table_details",),
    "policy_requests": ("cache_policy_requests",),
    # One ConsoleMe task wrote both mappings.
    "credential_authorization_mapping": ("cache_credential_authorization_mapping",),
    "reverse_authorization_mapping": ("cache_credential_authorization_mapping",),
    "cloudtrail_errors_by_arn": ("cache_cloudtrail_errors_by_arn",),
    "service_control_policies": ("cache_scps_across_organizations",),
    "organization_structure": ("cache_organization_structure",),
    "iam_role_limits": ("get_iam_role_limit",),
}


def compat_values(last_success_by_asset: Mapping[str, float | None], now: float) -> dict[str, int]:
    """{redis key: value} for every mapped task (pure). A task with no success yet gets no last_success and a
    time_since of `now` (ConsoleMe read a missing key as 0)."""
    last_by_task: dict[str, float] = {}
    tasks: set[str] = set()
    for asset, tasks_of in TASKS_BY_ASSET.items():
        tasks.update(tasks_of)
        last = last_success_by_asset.get(asset)
        for task in tasks_of:
            if last is not None and last > last_by_task.get(task, 0):
                last_by_task[task] = last
    out: dict[str, int] = {}
    for task in sorted(tasks):
        last = last_by_task.get(task)
        if last is not None:
            out[f"{PREFIX}{task}.last_success"] = int(last)
        out[f"{PREFIX}{task}.time_since_last_success"] = int(now - (last or 0))
    out[f"{PREFIX}{REPORT_TASK}.last_success"] = int(now)  # the reporter's own heartbeat, as ConsoleMe set it
    return out


def write_compat_keys(caches: ConsoleMeCaches, values: Mapping[str, int]) -> None:
    caches.set_plain_keys(values)
