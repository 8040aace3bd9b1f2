"""ConsoleMe's per-task success keys, for alerts people built on them (spec §1.2, §5.6):
`consoleme.celery_tasks.celery_tasks.<task>.last_success` (epoch int, set when the task succeeded) and
`.time_since_last_success` (seconds, refreshed every minute by report_celery_last_success_metrics).
`STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED` needs nothing here: every store call stamps it."""

from __future__ import annotations

from collections.abc import Mapping

from ..stores.caches import ConsoleMeCaches

PREFIX = "consoleme.celery_tasks.celery_tasks."
REPORT_TASK = "report_celery_last_success_metrics"


def compat_values(
    last_success_by_asset: Mapping[str, float | None], now: float, tasks_by_asset: Mapping[str, tuple[str, ...]]
) -> dict[str, int]:
    """{redis key: value} for every mapped task (pure). `tasks_by_asset`: our asset -> the ConsoleMe task(s) it
    replaces, from the declarations; per-account assets also feed the `_for_account` task (in ConsoleMe any one
    account's subtask succeeding refreshed that key, and the latest partition does the same here). A task with no
    success yet gets no last_success and a time_since of `now` (ConsoleMe read a missing key as 0)."""
    last_by_task: dict[str, float] = {}
    tasks: set[str] = set()
    for asset, tasks_of in tasks_by_asset.items():
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
