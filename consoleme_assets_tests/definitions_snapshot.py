"""What a user sees of the loaded definitions, as plain data: every asset (group, kinds, partitions, upstream,
pool, freshness window, checks), job (selection, run tags), schedule (cron, target, status), sensor (interval,
status, target) and resource key. `test_definitions_snapshot` compares it with the reviewed copy in
`snapshots/definitions.json`; a refactor that changes what a user sees shows up there as a diff.

Regenerate after a reviewed change: `python -m consoleme_assets_tests.definitions_snapshot > \
consoleme_assets_tests/snapshots/definitions.json`."""

from __future__ import annotations

import json
import sys
from typing import Any

import dagster as dg


def _window(spec: dg.AssetSpec) -> dict[str, int] | None:
    policy = spec.freshness_policy
    if policy is None:
        return None
    out = {}
    for name in ("fail_window", "warn_window"):
        value = getattr(policy, name, None)
        if value is not None:
            seconds = getattr(value, "total_seconds", None)
            out[name.replace("_window", "_minutes")] = int(
                (seconds() if seconds else value.to_timedelta().total_seconds()) // 60
            )
    return out


def _selection(job: Any) -> list[str]:
    graph = getattr(job, "asset_layer", None)
    keys = set()
    if graph is not None:
        keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        checks = getattr(job.asset_layer.asset_graph, "asset_check_keys", set())
        keys |= {f"{c.asset_key.to_user_string()}:{c.name}" for c in checks}
    return sorted(keys)


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets: dict[str, Any] = {}
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        key = spec.key
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": spec.group_name,
            "kinds": sorted(spec.kinds),
            "partitions": getattr(spec.partitions_def, "name", None) if spec.partitions_def else None,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
            "pools": sorted(node.pools) if getattr(node, "pools", None) else [],
            "freshness": _window(spec),
            "description": spec.description,
            "checks": {
                c.name: {
                    "blocking": graph.get_check_spec(c).blocking,
                    "description": graph.get_check_spec(c).description,
                }
                for c in sorted(graph.get_check_keys_for_assets({key}), key=lambda c: c.name)
            },
            "backfill_policy": str(node.backfill_policy.policy_type.value) if node.backfill_policy else None,
            "executed_with": sorted(k.to_user_string() for k in node.execution_set_asset_keys),
        }
    repo = defs.get_repository_def()
    jobs = {}
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "selection": _selection(job),
            "tags": dict(sorted(job.tags.items())),
            "description": job.description,
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule if isinstance(s.cron_schedule, str) else list(s.cron_schedule),
            "job": s.job_name,
            "timezone": s.execution_timezone,
            "default_status": s.default_status.value,
        }
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    sensors = {}
    for s in sorted(repo.sensor_defs, key=lambda s: s.name):
        targets = sorted(t.job_name for t in s.targets) if s.has_jobs else []
        sensors[s.name] = {
            "interval_seconds": s.minimum_interval_seconds,
            "default_status": s.default_status.value,
            "jobs": targets,
            "description": s.description,
        }
    return {
        "assets": assets,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": sorted(defs.resources or {}),
    }


def main() -> None:
    from consoleme_assets.definitions import defs

    json.dump(snapshot(defs), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
