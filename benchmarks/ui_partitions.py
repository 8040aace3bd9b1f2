"""Issue 15: does the UI stay usable at 1,000 and 5,000 account partitions?

    .venv/bin/python -m benchmarks.ui_partitions --partitions 1000,5000 [--storage postgres] [--out DIR]

Per N, on a fresh instance (`benchmarks.instance`: SQLite or the production PostgreSQL profile): N
`aws_accounts` dynamic partitions; one range run over all of them that materializes `iam_resources` for
all but 1% of them and then fails (so those partitions are FAILED, as after a real partial refresh); then a
`dagster-webserver` on the project's workspace (the e2e tests' harness), and, over HTTP, timed:
- `PartitionHealthQuery`: the query the asset page's partitions tab and health bar send
  (`assetNodeOrError { partitionKeysByDimension, assetPartitionStatuses }`, copied from the UI bundle);
- `AssetStaleStatusQuery`: `assetNodes { partitionStats }` for the six per-account assets (the asset list and
  the materialize dialog);
- `LaunchPartitionBackfill` of the six per-account assets over all N partitions by name (what the launch
  dialog sends; no daemon runs, so this is the launch alone, not the backfill's runs).
Each query is sent --repeat times; the JSON keeps every time, the table the first (cold) and the median.
Then, as a person sees them (unless --no-pages): `iam_resources`' asset page and its partitions tab in headless
Chromium (Debian's, as the e2e tests drive it), timed from navigation until the page shows the latest
materialization, or the materialized and failed counts; the first load starts from an empty browser cache.
Writes ui-partitions.json and ui-partitions.md into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .instance import dagster_instance
from .run import BENCH_CONFIG, PER_ACCOUNT_ASSETS, REPO

PARTITION_HEALTH = """query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
        ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
        ... on MultiPartitionStatuses { primaryDimensionName }
      }
    }
  }
}"""
STALE_STATUS = """query AssetStaleStatusQuery($assetKeys: [AssetKeyInput!]!) {
  assetNodes(assetKeys: $assetKeys) {
    id assetKey { path } isMaterializable staleStatus
    partitionStats { numMaterialized numMaterializing numPartitions numFailed }
  }
}"""
LAUNCH_BACKFILL = """mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}"""


def fill_instance(partitions: int, failed_every: int = 100) -> dict[str, Any]:
    """Partitions plus one range run of `iam_resources` (a stand-in with the same key and partitions) that
    materializes all but every `failed_every`-th partition and then fails. Uses $DAGSTER_HOME."""
    import dagster as dg

    from consoleme_assets.lib.partitions import aws_accounts_partitions

    keys = [f"{100000000000 + i}" for i in range(partitions)]
    instance = dg.DagsterInstance.get()
    t0 = time.perf_counter()
    instance.add_dynamic_partitions(aws_accounts_partitions.name, keys)
    added = time.perf_counter() - t0
    failed = set(keys[::failed_every])

    @dg.asset(
        name="iam_resources",
        partitions_def=aws_accounts_partitions,
        output_required=False,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def stand_in(context):  # no annotation: `dg` is imported locally and annotations are strings here
        for key in context.partition_keys:
            if key not in failed:
                yield dg.AssetMaterialization(
                    asset_key=context.asset_key, partition=key, metadata={"account_id": dg.MetadataValue.text(key)}
                )
        raise dg.Failure(description=f"{len(failed)} accounts failed (benchmark)")

    t0 = time.perf_counter()
    dg.materialize(
        [stand_in],
        instance=instance,
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    return {
        "partitions": partitions,
        "failed": len(failed),
        "add_partitions_seconds": round(added, 2),
        "fill_run_seconds": round(time.perf_counter() - t0, 2),
    }


def timed(web: Any, query: str, variables: dict, repeat: int) -> tuple[list[float], dict]:
    times, data = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        data = web.graphql(query, variables, timeout=600)
        times.append(round(time.perf_counter() - t0, 3))
    return times, data


def measure(partitions: int, storage: str, repeat: int, workdir: Path, pages: bool = True) -> dict[str, Any]:
    from consoleme_assets_tests.e2e_tests.harness import DagsterWebserver, base_env

    home = workdir / f"home-{partitions}"
    with dagster_instance(storage, home, workdir) as instance_env:
        env = {
            **base_env(),
            **instance_env,
            "CONSOLEME_ASSETS_CONFIG": str(BENCH_CONFIG),
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        saved = dict(os.environ)
        os.environ.update({**env, "DAGSTER_HOME": str(home)})
        try:
            out = fill_instance(partitions)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        web = DagsterWebserver(home, env, workdir)
        try:
            t0 = time.perf_counter()
            web.wait_serving()
            out["webserver_ready_seconds"] = round(time.perf_counter() - t0, 1)
            times, data = timed(web, PARTITION_HEALTH, {"assetKey": {"path": ["iam_resources"]}}, repeat)
            statuses = data["assetNodeOrError"]["assetPartitionStatuses"]
            out["partition_health"] = {
                "seconds": times,
                "materialized": len(statuses["materializedPartitions"]),
                "failed": len(statuses["failedPartitions"]),
                "keys": len(data["assetNodeOrError"]["partitionKeysByDimension"][0]["partitionKeys"]),
            }
            keys = [{"path": [a]} for a in PER_ACCOUNT_ASSETS]
            times, data = timed(web, STALE_STATUS, {"assetKeys": keys}, repeat)
            out["partition_stats"] = {
                "seconds": times,
                "stats": {n["assetKey"]["path"][0]: n["partitionStats"] for n in data["assetNodes"]},
            }
            names = [f"{100000000000 + i}" for i in range(partitions)]
            times, data = timed(
                web,
                LAUNCH_BACKFILL,
                {"backfillParams": {"assetSelection": keys, "partitionNames": names, "title": "benchmark"}},
                1,
            )
            out["launch_backfill"] = {"seconds": times, "result": data["launchPartitionBackfill"]}
            if pages:
                failed = out["partition_health"]["failed"]
                out["pages"] = page_loads(web, "iam_resources", partitions - failed, failed, repeat, workdir)
            out["loadavg_1min"] = float(open("/proc/loadavg").read().split()[0])
        finally:
            web.stop()
    return out


def _count(n: int) -> str:
    """`n` as the UI may print it (9900 or 9,900)."""
    return re.escape(f"{n:,}").replace(",", ",?")


def page_loads(web: Any, asset: str, materialized: int, failed: int, repeat: int, artifacts: Path) -> dict[str, Any]:
    """Navigation to shown, in seconds, for the asset page and its partitions tab (first load: cold cache)."""
    from consoleme_assets_tests.e2e_tests.browser import _wait_for_text, chromium_page

    web.graphql("mutation { setNuxSeen }")  # the first-visit dialog, dismissed as the UI's Skip does
    pages = {
        "asset_page": (f"/assets/{asset}", r"Latest materialization\s+.*?\b1\d{11}\b"),
        "partitions_tab": (
            f"/assets/{asset}?view=partitions",
            rf"(?=.*Materialized \({_count(materialized)}\))(?=.*Failed \({_count(failed)}\))",
        ),
    }
    out: dict[str, Any] = {}
    with chromium_page(artifacts, f"ui-{asset}-failure") as page:
        for name, (path, pattern) in pages.items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                page.goto(web.url + path, wait_until="commit")
                _wait_for_text(page, pattern, 600, interval=0.1)
                times.append(round(time.perf_counter() - t0, 2))
            page.screenshot(path=str(artifacts / f"ui-{name}-{materialized + failed}.png"))
            out[name] = {"seconds": times}
    return out


def _row(name: str, m: dict, times: list[float]) -> str:
    return (
        f"| {m['storage']} | {m['partitions']} | {name} | {times[0]:.2f} s | "
        f"{statistics.median(times):.2f} s | {m['loadavg_1min']} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui_partitions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", default="1000,5000")
    parser.add_argument("--storage", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ui"))
    parser.add_argument("--no-pages", action="store_true", help="GraphQL only, no Chromium page loads")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="consoleme-ui-"))
    results = []
    for n in [int(x) for x in args.partitions.split(",") if x.strip()]:
        m = {"storage": args.storage, **measure(n, args.storage, args.repeat, workdir, not args.no_pages)}
        results.append(m)
        print(json.dumps(m)[:600], flush=True)
    (out / "ui-partitions.json").write_text(json.dumps(results, indent=2))
    md = ["| storage | partitions | GraphQL | first | median | load |", "|---|---|---|---|---|---|"]
    for m in results:
        md += [
            _row("PartitionHealthQuery (iam_resources)", m, m["partition_health"]["seconds"]),
            _row("AssetStaleStatusQuery (6 assets' partitionStats)", m, m["partition_stats"]["seconds"]),
            _row(f"launchPartitionBackfill (6 assets x {m['partitions']})", m, m["launch_backfill"]["seconds"]),
        ]
        for name, label in (("asset_page", "asset page in Chromium"), ("partitions_tab", "partitions tab in Chromium")):
            if name in m.get("pages", {}):
                md.append(_row(label, m, m["pages"][name]["seconds"]))
    (out / "ui-partitions.md").write_text("\n".join(md) + "\n")
    print(f"report: {out / 'ui-partitions.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
