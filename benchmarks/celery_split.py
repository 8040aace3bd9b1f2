"""Issue 23 benchmark: one split refresh of `iam_resources` on dagster-celery, with 1, 2 and 4 workers.

    .venv/bin/python -m benchmarks.celery_split --accounts 160 --roles 10 --per-run 20 --workers 1,2,4 \
        --latency-ms 50 --out benchmarks/results/celery

A seeded moto answering every call `--latency-ms` late (the work is then I/O-bound, as against real AWS), a
redis-server (caches in db 0, the Celery broker in db 5, results in db 6) and a DAGSTER_HOME whose run launcher
is dagster-celery's `CeleryRunLauncher`. Setup: `consoleme-assets refresh --select aws_accounts`. Then per worker
count W: the cache db flushed, the launch's range runs (`consoleme_assets.max_accounts_per_run` = --per-run,
the runs a schedule tick makes) queued on the broker with `dagster job launch`, then W `dagster-celery worker`
processes (concurrency 1 each) started; measured from the first run's start to the last run's end, as the
instance recorded them. Every run must succeed. Writes celery.json and celery.md into --out; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import redis

from consoleme_assets.lib.ranges import LAUNCH_TAG, range_run_requests
from consoleme_assets.sandbox.servers import start_redis_server
from consoleme_assets_tests.e2e_tests.celery import WORKER, instance_yaml, launch_ranges, worker_argv

from .proc import cpu_seconds, tree_cpu_seconds
from .run import REPO, SeededMoto, _loadavg, aws_env, derived_config

BIN = Path(sys.executable).parent


def stop_sessions(procs: list[subprocess.Popen]) -> None:
    """Every process of each worker's session: TERM, then KILL what is left after 30 s."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # the celery child may outlive its parent
        p.wait()


def most_at_once(records: list[Any]) -> int:
    """The most runs that were running at the same moment (a check that W workers ran at most W at a time)."""
    edges = sorted([(r.start_time, 1) for r in records] + [(r.end_time, -1) for r in records])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def one_count(
    workers: int, env: dict[str, str], out: Path, accounts: list[str], per_run: int, moto_pid: int
) -> dict[str, Any]:
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    launch = f"bench-{workers}-workers-{int(time.time())}"
    requests = range_run_requests(accounts, per_run, launch, run_key=launch)
    launch_ranges(BIN, requests, env, cwd=REPO)
    procs = []
    for n in range(workers):
        log = open(out / f"worker-{workers}-{n}.log", "w")
        argv = worker_argv(BIN, out / "worker.yaml", f"bench{workers}x{n}")
        # Own session: `dagster-celery worker start` runs `celery` as a child, which outlives a terminated parent
        # and would keep taking the next count's runs (it did, until 2026-12-08: 3 and 7 runs at once).
        procs.append(
            subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        )
    moto_cpu0 = cpu_seconds(moto_pid)
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            deadline = time.monotonic() + 1800
            while True:
                runs = [r for r in instance.get_runs() if r.tags.get(LAUNCH_TAG) == launch]
                if len(runs) == len(requests) and all(r.is_finished for r in runs):
                    break
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"{workers} workers: runs unfinished (or a worker exited); see {out}")
                time.sleep(0.5)
            records = [instance.get_run_record_by_id(r.run_id) for r in runs]
            workers_cpu = sum(tree_cpu_seconds(p.pid) for p in procs)  # the workers and the runs they ran
            moto_cpu = cpu_seconds(moto_pid) - moto_cpu0
    finally:
        stop_sessions(procs)
    failed = [r.dagster_run.run_id for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
    if failed:
        raise RuntimeError(f"runs failed with {workers} workers: {failed}")
    if most_at_once(records) > workers:
        raise RuntimeError(f"{most_at_once(records)} runs at once with {workers} workers: a worker left over?")
    wall = max(r.end_time for r in records) - min(r.start_time for r in records)
    return {
        "workers": workers,
        "runs": len(records),
        "wall_seconds": round(wall, 2),
        "mean_run_seconds": round(sum(r.end_time - r.start_time for r in records) / len(records), 2),
        "most_runs_at_once": most_at_once(records),
        # CPU while the runs ran: moto is one process (one core at most, its Python holds the GIL), shared by all.
        "workers_cpu_seconds": round(workers_cpu, 1),
        "moto_cpu_seconds": round(moto_cpu, 1),
        "loadavg_1min_after": _loadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.celery_split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=160)
    parser.add_argument("--roles", type=int, default=10)
    parser.add_argument("--per-run", type=int, default=20, help="consoleme_assets.max_accounts_per_run")
    parser.add_argument("--concurrent-accounts", type=int, default=2, help="max_concurrent_accounts in a run")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "celery")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "worker.yaml").write_text(WORKER)
    home = out / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(instance_yaml(home))
    config = derived_config(
        out / "celery-bench.yaml",
        f"consoleme_assets:\n  max_accounts_per_run: {args.per_run}\n"
        f"  max_concurrent_accounts: {args.concurrent_accounts}\n",
    )
    server = start_redis_server(kind="redis-server")
    moto = SeededMoto(args.accounts, args.roles, out, config_rows=1, latency_ms=args.latency_ms)
    base = f"redis://127.0.0.1:{server.port}"
    env = {
        **aws_env(moto.url),
        "REDIS_URL": f"{base}/0",
        "CONSOLEME_ASSETS_CONFIG": str(config),
        "DAGSTER_HOME": str(home),
        "DAGSTER_CELERY_BROKER_URL": f"{base}/5",
        "DAGSTER_CELERY_BACKEND_URL": f"{base}/6",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}:{aws_env()['PATH']}",  # dagster-celery starts `celery` from PATH
    }
    try:
        setup = subprocess.run(
            [str(BIN / "consoleme-assets"), "refresh", "--select", "aws_accounts"], env=env, cwd=REPO, check=False
        )
        if setup.returncode:
            raise RuntimeError("consoleme-assets refresh --select aws_accounts failed")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            accounts = instance.get_dynamic_partitions("aws_accounts")
        results = []
        for workers in [int(w) for w in args.workers.split(",")]:
            results.append(one_count(workers, env, out, accounts, args.per_run, moto.proc.pid))
            print(json.dumps(results[-1]), flush=True)
    finally:
        moto.stop()
        server.stop()
    base_wall = results[0]["wall_seconds"]
    lines = [
        f"Split refresh of iam_resources on dagster-celery: {len(accounts)} accounts x {args.roles} roles, "
        f"{args.per_run} accounts per run, {args.concurrent_accounts} accounts at a time in a run, "
        f"{args.latency_ms:g} ms added to every AWS call.",
        "",
        "| workers | runs | most at once | wall (first start to last end) | speed-up vs 1 | mean run | workers' CPU "
        "| moto's CPU | load after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['workers']} | {r['runs']} | {r['most_runs_at_once']} | {r['wall_seconds']} s "
            f"| {base_wall / r['wall_seconds']:.2f}x "
            f"| {r['mean_run_seconds']} s | {r['workers_cpu_seconds']} s | {r['moto_cpu_seconds']} s "
            f"| {r['loadavg_1min_after']} |"
        )
    (out / "celery.json").write_text(json.dumps({"args": vars(args) | {"out": str(out)}, "results": results}, indent=2))
    (out / "celery.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
