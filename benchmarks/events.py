"""How many event-log rows the per-account refresh wrote, by type, from the instance in $DAGSTER_HOME.

    python -m benchmarks.events [--json-out events.json]

Counts the runs with a partition range (the per-account runs of `consoleme-assets refresh`): every row Dagster
stored for them (Dagster events and log lines), by event type. Load does not change these counts, so they
compare across machines where seconds do not.
"""

import argparse
import collections
import json

import dagster as dg

RANGE_TAG = "dagster/asset_partition_range_start"


def count_events(instance: dg.DagsterInstance) -> dict:
    runs = [r for r in instance.get_runs() if RANGE_TAG in r.tags]
    by_type: collections.Counter = collections.Counter()
    per_run = []
    for run in runs:
        logs = instance.all_logs(run.run_id)
        per_run.append(len(logs))
        by_type.update(e.dagster_event_type.value if e.dagster_event_type else "log_message" for e in logs)
    return {"runs": len(runs), "events_per_run": per_run, "total": sum(per_run), "by_type": dict(by_type)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    with dg.DagsterInstance.get() as instance:
        text = json.dumps(count_events(instance))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
