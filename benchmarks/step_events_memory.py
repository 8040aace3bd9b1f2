"""Issue 23 item 1: what Dagster keeps of a step's events until the step ends, per partition, by metadata shape.

    .venv/bin/python -m benchmarks.step_events_memory --partitions 300,1200

Dagster's plan executor (in-process and multiprocess alike) keeps every event a step yields in a list, for the
step's hooks, until the step ends (dagster/_core/execution/plan/execute_plan.py, `step_event_list`). A per-account
refresh yields one materialization per account from one step, so those events are the part of a run's memory
that grows with its accounts. Per shape and P: a fresh SQLite instance, one range run (as the CLI runs it,
`materialize_streaming`) of a probe asset yielding P materializations, each with metadata of its own (new objects
per partition, as each account's are); the traced (tracemalloc) peak above the memory before the run. The slope
between two P is the cost per partition. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc

import dagster as dg

from .event_cost import METADATA
from .run import REPO

SHAPES = ("iam", "account-id", "none")
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def metadata_for(shape: str, account_id: str) -> dict[str, dg.MetadataValue]:
    """The shape's metadata, built anew for this account (no value shared with another partition's)."""
    if shape == "none":
        return {}
    if shape == "account-id":
        return {"account_id": dg.MetadataValue.text(account_id)}
    out: dict[str, dg.MetadataValue] = {}
    for key, value in METADATA.items():  # an iam_resources account's shape, its account id swapped in
        raw = json.loads(json.dumps(value.value).replace("100000000000", account_id))
        out[key] = value.__class__(raw)
    return out


def one(shape: str, partitions: int) -> dict:
    """In this process (a fresh one per measurement: see main)."""
    from consoleme_assets.lib.dagster_private import materialize_streaming

    accounts = dg.DynamicPartitionsDefinition(name="accounts")

    @dg.multi_asset(
        specs=[dg.AssetSpec("probe", partitions_def=accounts)], backfill_policy=dg.BackfillPolicy.single_run()
    )
    def probe(context):  # no annotation: a string one (future annotations) is refused by Dagster
        for key in context.partition_keys:
            yield dg.AssetMaterialization("probe", partition=key, metadata=metadata_for(shape, key))

    home = tempfile.mkdtemp(prefix="consoleme-step-events-")
    try:
        shutil.copy(REPO / "dagster.yaml", home)
        os.environ["DAGSTER_HOME"] = home
        instance = dg.DagsterInstance.get()
        keys = [f"{i:012d}" for i in range(partitions)]
        instance.add_dynamic_partitions("accounts", keys)
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.get_traced_memory()[0]
        run = materialize_streaming([probe], ["probe"], instance, {}, tags, QUIET, lambda event: None)
        peak = tracemalloc.get_traced_memory()[1]
        return {"shape": shape, "partitions": partitions, "status": run.status.value, "traced_peak": peak - before}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.step_events_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--partitions", default="300,1200", help="two comma-separated P")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--one", nargs=2, metavar=("SHAPE", "P"), help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return 0
    small, large = (int(p) for p in args.partitions.split(","))
    for shape in args.shapes.split(","):
        peaks = {}
        for p in (small, large):
            child = [sys.executable, "-m", "benchmarks.step_events_memory", "--one", shape, str(p)]
            out = subprocess.run(child, cwd=REPO, capture_output=True, text=True, check=True).stdout
            peaks[p] = json.loads(out.strip().splitlines()[-1])["traced_peak"]
        slope = (peaks[large] - peaks[small]) / (large - small) / 1024
        print(
            f"{shape}: traced peak {peaks[small] / 2**20:.1f} MiB at {small}, {peaks[large] / 2**20:.1f} MiB at "
            f"{large}: {slope:.1f} KiB per partition"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
