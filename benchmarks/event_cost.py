"""What one Dagster event-log write costs on the instance in $DAGSTER_HOME (SQLite or PostgreSQL).

    python -m benchmarks.event_cost --partitions 600 [--json-out cost.json]

A refresh over N accounts and D per-account assets writes N x D "materialization planned" events when the
run is created (one per partition: that is what lets Dagster mark exactly the failed accounts FAILED) and
N x D materializations as accounts land. This probe runs one range run of a throwaway asset over
`--partitions` dynamic partitions, yielding a materialization per partition with metadata of the size the
per-account assets attach, and times both kinds of event. No AWS, no Redis.
"""

import argparse
import json
import time

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


def measure(partitions: int) -> dict[str, float]:
    timings: dict[str, float] = {}

    @dg.asset(partitions_def=PROBE, output_required=False, backfill_policy=dg.BackfillPolicy.single_run())
    def event_cost_probe(context: dg.AssetExecutionContext):
        timings["run_started"] = time.perf_counter()
        for key in context.partition_keys:
            yield dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata=METADATA)
        timings["materialized"] = time.perf_counter()

    instance = dg.DagsterInstance.get()
    keys = [f"{900000000000 + i}" for i in range(partitions)]
    instance.add_dynamic_partitions(PROBE.name, keys)
    try:
        t0 = time.perf_counter()
        dg.materialize([event_cost_probe], instance=instance, tags={
            "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
        total = time.perf_counter() - t0
    finally:
        for key in keys:
            instance.delete_dynamic_partition(PROBE.name, key)
    materialize_s = timings["materialized"] - timings["run_started"]
    return {
        "partitions": partitions,
        # Run creation (dominated by the planned events) up to the step's first line.
        "planned_ms_per_event": round((timings["run_started"] - t0) * 1000 / partitions, 2),
        "materialization_ms_per_event": round(materialize_s * 1000 / partitions, 2),
        "run_seconds": round(total, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.event_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=600)
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    result = measure(args.partitions)
    text = json.dumps(result)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
