"""What Dagster's event-log writes cost on the instance in $DAGSTER_HOME (SQLite or PostgreSQL), and the
alternatives to them (issue 15).

    python -m benchmarks.event_cost --partitions 600 [--json-out cost.json]
    python -m benchmarks.event_cost --partitions 600 --variants all [--json-out variants.json]

A refresh over N accounts and D per-account assets writes N x D "materialization planned" events when the
run is created (one per partition: that is what lets Dagster mark exactly the failed accounts FAILED) and
N x D materializations as accounts land. This probe runs one range run of a throwaway asset over
`--partitions` dynamic partitions, yielding a materialization per partition with metadata of the size the
per-account assets attach, and times both kinds of event, in wall and in CPU seconds (CPU is what a loaded
box distorts least). No AWS, no Redis.

Variants (`--variants a,b,...` or `all`; each on fresh partitions of the same instance):
- baseline: as the per-account assets do now.
- small-metadata: only `account_id` on each materialization (what the metadata's size costs).
- batch-env: DAGSTER_EVENT_BATCH_SIZE=1000 (Dagster batches the planned events it writes at run creation;
  user-yielded materializations carry no batch marker, so they are still written one by one).
- split-N: the range cut into N contiguous sub-ranges, run as N concurrent runs, each in its own process (as
  the daemon launches runs; two `materialize` calls in threads of one process deadlock in Dagster 1.13).
- pg-pool: PostgreSQL only: the event-log engine keeps a pooled connection (dagster-postgres opens a new
  connection per write by default; `optimize_for_webserver` is the hook that pools it).
References that lose per-partition FAILED status, measured only to size what they would save:
- subset-planned: DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1 (one planned event per asset and run;
  a failed run then no longer marks its partitions FAILED).
- one-output: one Output for the whole range with DAGSTER_EVENT_BATCH_SIZE=1000 (Dagster writes the
  per-partition materializations itself, in batches, at the end; all-or-nothing).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

PROBE = dg.DynamicPartitionsDefinition(name="event_cost_probe")
METADATA = {  # the shape and size of an iam_resources account's metadata
    "account_id": dg.MetadataValue.text("100000000000"),
    "fetch_seconds": dg.MetadataValue.float(1.234),
    "write_seconds": dg.MetadataValue.float(0.123),
    "dagster/row_count": dg.MetadataValue.int(230),
    "counts": dg.MetadataValue.json({"roles": 200, "users": 10, "groups": 2, "policies": 18}),
    "roles_preview": dg.MetadataValue.json([f"arn:aws:iam::100000000000:role/bench-role-{i:04d}" for i in range(20)]),
    "redis_keys": dg.MetadataValue.json(["IAM_ROLE_CACHE", "IAM_USER_CACHE", "IAM_GROUP_CACHE", "IAM_POLICY_CACHE"]),
    "s3_uris": dg.MetadataValue.json([f"s3://bucket/iam/{k}/100000000000.json.gz" for k in ("roles", "users")]),
}
SMALL_METADATA = {"account_id": METADATA["account_id"]}
VARIANTS = ("baseline", "small-metadata", "batch-env", "split-2", "split-4", "subset-planned", "one-output", "pg-pool")


def server_cpu_seconds() -> float:
    """CPU of the PostgreSQL server (postmaster, its live backends, the ones it has reaped), when the benchmark
    started it (`BENCH_PG_SERVICE_PID`, the postmaster or its `runuser` parent); else 0."""
    root = os.environ.get("BENCH_PG_SERVICE_PID")
    if not root:
        return 0.0
    total, stack, tick = 0.0, [int(root)], os.sysconf("SC_CLK_TCK")
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return total


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _probe_asset(timings: dict[str, float], metadata: dict, one_output: bool) -> dg.AssetsDefinition:
    if one_output:

        @dg.asset(name="event_cost_probe", partitions_def=PROBE, backfill_policy=dg.BackfillPolicy.single_run())
        def probe_one_output(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            timings.setdefault("run_started", time.perf_counter())
            return dg.MaterializeResult(metadata=metadata)

        return probe_one_output

    @dg.asset(
        name="event_cost_probe",
        partitions_def=PROBE,
        output_required=False,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def probe(context: dg.AssetExecutionContext):
        timings.setdefault("run_started", time.perf_counter())
        for key in context.partition_keys:
            yield dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata=metadata)
        timings["materialized"] = time.perf_counter()

    return probe


def measure(
    partitions: int, variant: str = "baseline", instance: dg.DagsterInstance | None = None, offset: int = 0
) -> dict:
    instance = instance or dg.DagsterInstance.get()
    timings: dict[str, float] = {}
    asset = _probe_asset(timings, SMALL_METADATA if variant == "small-metadata" else METADATA, variant == "one-output")
    env = {
        "batch-env": {"DAGSTER_EVENT_BATCH_SIZE": "1000"},
        "one-output": {"DAGSTER_EVENT_BATCH_SIZE": "1000"},
        "subset-planned": {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"},
    }.get(variant, {})
    splits = int(variant.split("-")[1]) if variant.startswith("split-") else 1
    if variant == "pg-pool":
        storage = instance.event_log_storage
        if not hasattr(storage, "optimize_for_webserver") or "Postgres" not in type(storage).__name__:
            return {"variant": variant, "skipped": "PostgreSQL only"}
        storage.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
    keys = [f"{900000000000 + offset + i}" for i in range(partitions)]
    instance.add_dynamic_partitions(PROBE.name, keys)
    chunks = [keys[i * len(keys) // splits : (i + 1) * len(keys) // splits] for i in range(splits)]

    def run(chunk: list[str]) -> None:
        dg.materialize(
            [asset],
            instance=instance,
            tags={"dagster/asset_partition_range_start": chunk[0], "dagster/asset_partition_range_end": chunk[-1]},
        )

    try:
        with _env(**env):
            children0, server0 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu_seconds()
            cpu0, t0 = time.process_time(), time.perf_counter()
            if splits == 1:
                run(keys)
            else:
                procs = [
                    subprocess.Popen([sys.executable, "-m", "benchmarks.event_cost", "--run-range", c[0], c[-1]])
                    for c in chunks
                    if c
                ]
                if any(proc.wait() != 0 for proc in procs):
                    raise RuntimeError(f"{variant}: a sub-range run failed")
            children, server = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu_seconds() - server0
            total = time.perf_counter() - t0
            cpu = (
                time.process_time()
                - cpu0
                + children.ru_utime
                + children.ru_stime
                - children0.ru_utime
                - children0.ru_stime
            )
    finally:
        for key in keys:
            instance.delete_dynamic_partition(PROBE.name, key)
    out = {
        "variant": variant,
        "partitions": partitions,
        "run_seconds": round(total, 2),
        "cpu_seconds": round(cpu, 2),
        "ms_per_partition": round(total * 1000 / partitions, 2),
        "cpu_ms_per_partition": round(cpu * 1000 / partitions, 2),
        "server_cpu_ms_per_partition": round(server * 1000 / partitions, 2),
    }
    if splits == 1 and "materialized" in timings:
        # Run creation (dominated by the planned events) up to the step's first line, then the materializations.
        out["planned_ms_per_event"] = round((timings["run_started"] - t0) * 1000 / partitions, 2)
        out["materialization_ms_per_event"] = round(
            (timings["materialized"] - timings["run_started"]) * 1000 / partitions, 2
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.event_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=600)
    parser.add_argument("--variants", default=None, help=f"comma-separated, or all: {', '.join(VARIANTS)}")
    parser.add_argument("--json-out")
    parser.add_argument("--run-range", nargs=2, metavar=("START", "END"), help=argparse.SUPPRESS)  # split-N's runs
    args = parser.parse_args(argv)
    if args.run_range:
        dg.materialize(
            [_probe_asset({}, METADATA, False)],
            instance=dg.DagsterInstance.get(),
            tags={
                "dagster/asset_partition_range_start": args.run_range[0],
                "dagster/asset_partition_range_end": args.run_range[1],
            },
        )
        return 0
    if args.variants is None:
        result: dict | list = measure(args.partitions)
    else:
        names = VARIANTS if args.variants == "all" else [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [v for v in names if v not in VARIANTS and not v.startswith("split-")]
        if unknown:
            parser.error(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
        instance = dg.DagsterInstance.get()
        result = []
        for i, name in enumerate(names):  # pg-pool changes the engine for what follows: keep it late
            result.append(
                {
                    **measure(args.partitions, name, instance, offset=i * args.partitions),
                    "loadavg_1min": float(open("/proc/loadavg").read().split()[0]),
                }
            )
            print(json.dumps(result[-1]), flush=True)
    text = json.dumps(result)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    if args.variants is None:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
