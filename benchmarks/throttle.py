"""Issue 15: botocore's `adaptive` vs `standard` retry mode while a share of IAM calls is throttled.

    .venv/bin/python -m benchmarks.throttle --accounts 100 --roles 50 --fraction 0.2 --out benchmarks/results/throttle

A seeded moto (`benchmarks.moto_seeded`) behind the fault proxy (`consoleme_assets_tests.faults.proxy`, the
fault tests' proxy, answering `--fraction` of the IAM calls with Throttling instead of forwarding them).
First a clean refresh of the six per-account assets (no faults) gives the reference caches; then, per mode,
from an empty Redis, an emptied cache bucket and a fresh DAGSTER_HOME: `consoleme-assets refresh` of
aws_accounts (no faults), then of the per-account assets with throttling on, under
`consoleme_assets.aws_retry_mode: <mode>`. Per mode: wall, CPU, exit code, IAM calls answered and throttled,
and whether the Redis and S3 caches equal the clean run's (epochs and ttls aside, as the fault tests compare).
Writes throttle.json and throttle.md into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import redis

from consoleme_assets.sandbox.seed import CACHE_BUCKET
from consoleme_assets.sandbox.servers import start_redis_server
from consoleme_assets_tests.fault_tests.conftest import redis_snapshot, s3_snapshot
from consoleme_assets_tests.faults.proxy import FaultProxy

from .run import PER_ACCOUNT_ASSETS, REPO, SeededMoto, aws_env, derived_config, run_measured

AWS_ENV = aws_env(inherit=False)


def _empty_bucket(moto_url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_url, **{"region_name": "us-east-1"})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=CACHE_BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=CACHE_BUCKET, Key=obj["Key"])


def one_refresh(
    label: str,
    mode: str,
    fraction: float,
    moto: SeededMoto,
    proxy: FaultProxy,
    redis_url: str,
    workdir: Path,
    runner: str = "refresh",
) -> tuple[dict[str, Any], dict, dict]:
    redis.Redis.from_url(redis_url).flushdb()
    _empty_bucket(moto.url)
    home = workdir / f"home-{label}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    config = derived_config(workdir / f"bench-{label}.yaml", f"consoleme_assets:\n  aws_retry_mode: {mode}\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DAGSTER_"))},
        **AWS_ENV,
        "AWS_ENDPOINT_URL": proxy.url,
        "REDIS_URL": redis_url,
        "CONSOLEME_ASSETS_CONFIG": str(config),
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    cli = [str(Path(sys.executable).parent / "consoleme-assets"), "refresh"]
    setup = run_measured(cli + ["--select", "aws_accounts"], env, workdir / f"setup-{label}.log")
    proxy.clear()
    fault = proxy.inject("throttle", fraction=fraction, service="iam") if fraction else None
    measured = (
        cli + ["--select", ",".join(PER_ACCOUNT_ASSETS)]
        if runner == "refresh"
        else [sys.executable, "-m", "benchmarks.floor"]
    )  # the floor: the same AWS clients, no Dagster
    result = run_measured(measured, env, workdir / f"refresh-{label}.log", watch_pid=moto.proc.pid)
    iam = [c for c in proxy.calls if c.service == "iam"]
    proxy.clear()
    result.update(
        {
            "label": label,
            "retry_mode": mode,
            "runner": runner,
            "fraction": fraction,
            "setup_exit_code": setup["exit_code"],
            "iam_calls": len(iam),
            "iam_throttled": sum(1 for c in iam if c.faulted),
            "throttles_injected": fault.hits if fault else 0,
            "output": Path(result["log"]).read_text().strip().splitlines()[-8:],
        }
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return result, redis_snapshot(client), s3_snapshot(CACHE_BUCKET, moto.url)


def _diff(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throttle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--roles", type=int, default=50)
    parser.add_argument("--config-rows", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.2, help="share of IAM calls answered with Throttling")
    parser.add_argument("--modes", default="adaptive,standard")
    parser.add_argument(
        "--runner",
        choices=("refresh", "floor"),
        default="refresh",
        help="what is measured: `consoleme-assets refresh` of the per-account assets, or "
        "`benchmarks.floor` (the same collectors, AWS clients and writes without Dagster)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "throttle"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(AWS_ENV)  # for the snapshots' own boto3 clients (straight to moto, not through the proxy)
    workdir = Path(tempfile.mkdtemp(prefix="consoleme-throttle-"))
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "args": vars(args), "runs": []}
    moto = SeededMoto(args.accounts, args.roles, workdir, args.config_rows)
    try:
        with start_redis_server(kind="auto") as server, FaultProxy(moto.url) as proxy:
            url = server.url.rsplit("/", 1)[0] + "/0"
            clean, clean_redis, clean_s3 = one_refresh("clean", "standard", 0.0, moto, proxy, url, workdir, args.runner)
            report["runs"].append(clean)
            print(
                f"clean: {clean['wall_seconds']}s wall, {clean['cpu_seconds']}s CPU, exit {clean['exit_code']}",
                flush=True,
            )
            for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
                run, got_redis, got_s3 = one_refresh(mode, mode, args.fraction, moto, proxy, url, workdir, args.runner)
                run["redis_keys_differing"] = _diff(clean_redis, got_redis)
                run["s3_objects_differing"] = _diff(clean_s3, got_s3)
                run["identical_caches"] = not run["redis_keys_differing"] and not run["s3_objects_differing"]
                report["runs"].append(run)
                print(
                    f"{mode}: {run['wall_seconds']}s wall, {run['cpu_seconds']}s CPU, exit {run['exit_code']}, "
                    f"{run['iam_throttled']}/{run['iam_calls']} IAM calls throttled, identical caches: "
                    f"{run['identical_caches']} (load {run['loadavg_1min_after']})",
                    flush=True,
                )
    finally:
        moto.stop()
    (out / "throttle.json").write_text(json.dumps(report, indent=2))
    md = [
        f"# Throttling: retry modes ({report['started']}; {args.accounts} accounts x {args.roles} roles, "
        f"{args.fraction:.0%} of IAM calls throttled; measured: {args.runner})",
        "",
        "| run | retry mode | wall | CPU (+moto) | exit | IAM calls (throttled) | identical caches | load after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        md.append(
            f"| {r['label']} | {r['retry_mode']} | {r['wall_seconds']:.1f} s | {r['cpu_seconds']:.1f} s "
            f"(+{r.get('moto_cpu_seconds', 0):.1f} s) | {r['exit_code']} | {r['iam_calls']} ({r['iam_throttled']}) | "
            f"{r.get('identical_caches', 'reference')} | {r['loadavg_1min_after']} |"
        )
    (out / "throttle.md").write_text("\n".join(md) + "\n")
    print(f"report: {out / 'throttle.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
