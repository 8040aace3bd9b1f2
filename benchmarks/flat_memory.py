"""Issue 23 item 1: peak RSS of one refresh of the six per-account datasets against the number of accounts.

    .venv/bin/python -m benchmarks.flat_memory --accounts 500,2000 --roles 10 --out /tmp/flat

Per N: a fresh seeded moto (`benchmarks.moto_seeded`), a flushed Redis, a fresh SQLite DAGSTER_HOME,
`consoleme-assets refresh --select aws_accounts`, then, measured as `benchmarks.run` measures it (peak RSS of
the process tree sampled every 50 ms, wall, CPU): `consoleme-assets refresh` of the six per-account datasets in
one run. No floor (see `benchmarks.run` for that). Writes flat_memory.json and flat_memory.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import redis

from consoleme_assets.sandbox.servers import start_redis_server

from .instance import dagster_instance
from .run import BENCH_CONFIG, PER_ACCOUNT_ASSETS, REPO, SeededMoto, aws_env, run_measured

MIB = 1024 * 1024


def one_size(accounts: int, roles: int, redis_url: str, out: Path, timeout: float = 1800) -> dict:
    redis.Redis.from_url(redis_url).flushdb()
    moto = SeededMoto(accounts, roles, out, config_rows=1)
    try:
        with dagster_instance("sqlite", out / f"home-{accounts}", out) as instance_env:
            env = {
                **aws_env(moto.url),
                "REDIS_URL": redis_url,
                "CONSOLEME_ASSETS_CONFIG": str(BENCH_CONFIG),
                "DAGSTER_HOME": str(out / f"home-{accounts}"),
                "PYTHONUNBUFFERED": "1",
                **instance_env,
            }
            cli = [str(Path(sys.executable).parent / "consoleme-assets"), "refresh", "--select"]
            setup = run_measured(cli + ["aws_accounts"], env, out / f"setup-{accounts}.log")
            if setup["exit_code"]:
                raise RuntimeError(f"aws_accounts failed at N={accounts}: {setup['log']}")
            refresh = run_measured(
                cli + [",".join(PER_ACCOUNT_ASSETS)], env, out / f"refresh-{accounts}.log", timeout=timeout
            )
    finally:
        moto.stop()
    return {
        "accounts": accounts + 1,  # the seeded members and the hub
        "roles": roles,
        "exit_code": refresh["exit_code"],
        "peak_rss_mib": round(refresh["peak_rss_bytes"] / MIB, 1),
        "wall_seconds": refresh["wall_seconds"],
        "cpu_seconds": refresh["cpu_seconds"],
        "loadavg_1min_after": refresh["loadavg_1min_after"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flat_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="500,2000", help="comma-separated N (member accounts seeded)")
    parser.add_argument("--roles", type=int, default=10)
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds one refresh may take (5,000 accounts here: over 2 h)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "flat_memory")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = start_redis_server(kind="redis-server")
    results = []
    try:
        for n in [int(x) for x in args.accounts.split(",")]:
            results.append(one_size(n, args.roles, server.url, args.out, args.timeout))
            print(json.dumps(results[-1]), flush=True)
    finally:
        server.stop()
    lines = [
        "| accounts x roles | peak RSS (process tree) | wall | CPU | exit | load after |",
        "|---|---|---|---|---|---|",
    ] + [
        f"| {r['accounts']} x {r['roles']} | {r['peak_rss_mib']} MiB | {r['wall_seconds']} s | {r['cpu_seconds']} s "
        f"| {r['exit_code']} | {r['loadavg_1min_after']} |"
        for r in results
    ]
    (args.out / "flat_memory.json").write_text(json.dumps(results, indent=2))
    (args.out / "flat_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
