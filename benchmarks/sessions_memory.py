"""Issue 23 item 1: memory and CPU per account of `AwsSessions`, this tree's against an older commit's.

    .venv/bin/python -m benchmarks.sessions_memory [--accounts 2000] [--warmup 300] [--old-rev 9989e09] [--threads 1]
        [--impls old,new] [--modes rss,tracemalloc]

One seeded moto (`benchmarks.moto_seeded`, no roles, no Config rows: only the accounts and their spoke role).
Then per implementation (`old`: `consoleme_assets/aws/sessions.py` at --old-rev, `new`: this tree's) and per
mode, a fresh subprocess that, for every account, takes `sessions.client("iam", account_id=...)` (one
AssumeRole) and calls ListAccountAliases once. The first --warmup accounts load models and fill the caches;
the figures are over the rest, after `gc.collect()` (the warm-up must exceed the LRUs' sizes, 256 credentials
and 64 clients at --threads 1, for the figures to show the steady state):
- `rss` mode: resident memory growth (KB per account, /proc/self/statm) and CPU per account (ms, the client
  process only; moto runs in its own process), split into `client()` and the IAM call;
- `tracemalloc` mode: traced Python allocations still live (KB per account) and the traced peak.
Live botocore sessions and cached clients are counted at the end. Prints one JSON line per subprocess, then a
table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE


def _sessions_class(impl: str, old_rev: str) -> type:
    if impl == "new":
        from consoleme_assets.aws.sessions import AwsSessions

        return AwsSessions
    # The old module as a sibling of the new one, so its relative imports (..settings) resolve.
    source = subprocess.check_output(
        ["git", "show", f"{old_rev}:consoleme_assets/aws/sessions.py"], cwd=REPO, text=True
    )
    import consoleme_assets.aws  # noqa: F401

    name = "consoleme_assets.aws._sessions_baseline"
    module = types.ModuleType(name)
    module.__package__ = "consoleme_assets.aws"
    sys.modules[name] = module  # dataclasses look their module up here
    exec(compile(source, f"{old_rev}:consoleme_assets/aws/sessions.py", "exec"), module.__dict__)
    return module.AwsSessions


def child(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    import botocore.session

    from consoleme_assets.settings import load_settings

    if args.mode == "tracemalloc":
        # From the start: traced after the warm-up only, the clients that replace evicted ones would count as
        # growth while the evicted ones' (untraced) memory, freed, would not.
        tracemalloc.start()
    accounts = json.loads(Path(args.manifest).read_text())["accounts"][: args.accounts]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(
            f"policies: {{role_name: ConsoleMe}}\nconsoleme_assets: {{max_concurrent_accounts: {args.threads}}}\n"
        )
        settings = load_settings(cfg, env=dict(os.environ))
    sessions = _sessions_class(args.impl, args.old_rev)(settings)
    split = {"client": 0.0, "call": 0.0}

    def one(account_id: str) -> None:
        t0 = time.thread_time()
        client = sessions.client("iam", account_id=account_id)
        t1 = time.thread_time()
        client.list_account_aliases()
        t2 = time.thread_time()
        split["client"] += t1 - t0  # races between threads only blur the split, not the totals
        split["call"] += t2 - t1

    def run(batch: list[str]) -> None:
        if args.threads == 1:
            for account_id in batch:
                one(account_id)
        else:
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(one, batch))

    run(accounts[: args.warmup])
    measured = accounts[args.warmup :]
    gc.collect()
    split.update(client=0.0, call=0.0)
    traced0 = tracemalloc.get_traced_memory()[0] if args.mode == "tracemalloc" else 0
    rss0, cpu0, wall0 = _rss_bytes(), time.process_time(), time.monotonic()
    curve = []  # (accounts done, RSS MiB) at each quarter: flat or growing
    quarter = -(-len(measured) // 4)
    for start in range(0, len(measured), quarter):
        run(measured[start : start + quarter])
        curve.append((args.warmup + min(start + quarter, len(measured)), round(_rss_bytes() / 2**20, 1)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    gc.collect()
    rss1 = _rss_bytes()
    n = len(measured)
    out: dict[str, Any] = {
        "impl": args.impl,
        "mode": args.mode,
        "threads": args.threads,
        "accounts_measured": n,
        "rss_mib_end": round(rss1 / 2**20, 1),
        "rss_kb_per_account": round((rss1 - rss0) / 1024 / n, 2),
        "rss_mib_curve": curve,
        "live_botocore_sessions": sum(isinstance(o, botocore.session.Session) for o in gc.get_objects()),
        "cached_clients": len(sessions._clients),
        "wall_s": round(wall, 2),
    }
    if args.mode == "tracemalloc":
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["traced_kb_per_account"] = round((current - traced0) / 1024 / n, 2)
        out["traced_peak_mib"] = round(peak / 2**20, 1)
    else:
        out["cpu_ms_per_account"] = round(cpu * 1000 / n, 3)
        out["cpu_ms_client_per_account"] = round(split["client"] * 1000 / n, 3)
        out["cpu_ms_call_per_account"] = round(split["call"] * 1000 / n, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sessions_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--old-rev", default="9989e09", help="the commit whose sessions.py is `old`")
    parser.add_argument("--impls", default="old,new")
    parser.add_argument("--modes", default="rss,tracemalloc", help="tracemalloc makes the old path ~5x slower")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0

    from .run import SeededMoto, aws_env

    with tempfile.TemporaryDirectory() as tmp:
        moto = SeededMoto(args.accounts, 0, Path(tmp), config_rows=0)
        try:
            env = {
                **aws_env(moto.url),
                "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            }
            results = []
            for impl in args.impls.split(","):
                for mode in args.modes.split(","):
                    argv_child = [
                        sys.executable,
                        "-m",
                        "benchmarks.sessions_memory",
                        "--child",
                        f"--impl={impl}",
                        f"--mode={mode}",
                        f"--manifest={moto.manifest_path}",
                        f"--accounts={args.accounts}",
                        f"--warmup={args.warmup}",
                        f"--threads={args.threads}",
                        f"--old-rev={args.old_rev}",
                    ]
                    done = subprocess.run(argv_child, env=env, cwd=REPO, capture_output=True, text=True)
                    if done.returncode:
                        sys.stderr.write(done.stderr)
                        return done.returncode
                    results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                    print(json.dumps(results[-1]), flush=True)
        finally:
            moto.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"\nload average (1 min) at the end: {load}; moto seeded {args.accounts} accounts")
    print(
        "| impl | threads | KB/account RSS | KB/account traced | live botocore sessions | CPU ms/account (client() + call) |"
    )
    print("|---|---|---|---|---|---|")
    for impl in args.impls.split(","):
        rss = next((r for r in results if r["impl"] == impl and r["mode"] == "rss"), {})
        traced = next((r for r in results if r["impl"] == impl and r["mode"] == "tracemalloc"), {})
        cpu = (
            f"{rss['cpu_ms_per_account']} ({rss['cpu_ms_client_per_account']} + {rss['cpu_ms_call_per_account']})"
            if rss
            else "-"
        )
        print(
            f"| {impl} | {args.threads} | {rss.get('rss_kb_per_account', '-')} | "
            f"{traced.get('traced_kb_per_account', '-')} | "
            f"{(rss or traced)['live_botocore_sessions']} | {cpu} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
