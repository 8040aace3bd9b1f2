"""Issue 23 item 1: the Python memory one `consoleme-assets refresh` of the six datasets traces, against N.

    .venv/bin/python -m benchmarks.result_memory --accounts 300 --roles 2

A seeded moto (`benchmarks.moto_seeded`), a Redis and a fresh SQLite DAGSTER_HOME; `refresh --select
aws_accounts`; then, in this process under tracemalloc, the refresh of the six per-account datasets. Prints one
JSON line: the traced peak during the refresh and what it left after, above the traced memory before it. Run it
at two N: a flat refresh has the same peak at both. (Until 2026-12-07 the CLI ran `dg.materialize`, whose result
held every event of the run: 28.6-29.1 KiB per account.) Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import tempfile
import threading
import tracemalloc
from pathlib import Path

from consoleme_assets.sandbox.servers import start_redis_server

from .run import BENCH_CONFIG, PER_ACCOUNT_ASSETS, REPO, SeededMoto, aws_env

MIB = 1024 * 1024


class PeakSampler:
    """Every few seconds, a snapshot of the traced allocations if they are the most seen so far: where the
    refresh's peak is (tracemalloc's own peak says how much, not what)."""

    def __init__(self, every: float = 5.0) -> None:
        self.best: tuple[int, tracemalloc.Snapshot | None] = (0, None)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self.thread.start()

    def _run(self, every: float) -> None:
        while not self.stop.wait(every):
            now = tracemalloc.get_traced_memory()[0]
            if now > self.best[0]:
                self.best = (now, tracemalloc.take_snapshot())

    def report(self, top: int) -> None:
        self.stop.set()
        self.thread.join()
        size, snapshot = self.best
        if snapshot is None:
            return
        print(f"largest sampled: {size / MIB:.1f} MiB traced; its {top} largest allocation sites:")
        for stat in snapshot.statistics("traceback")[:top]:
            frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback]
            print(f"  {stat.size / MIB:7.2f} MiB {stat.count:8d} blocks  " + " <- ".join(reversed(frames[-6:])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.result_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300, help="member accounts seeded (the hub is one more)")
    parser.add_argument("--roles", type=int, default=2)
    parser.add_argument(
        "--top", type=int, default=0, help="also print the N largest allocation sites at the sampled peak (slower)"
    )
    parser.add_argument("--frames", type=int, default=12, help="traceback depth kept for --top")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="consoleme-result-memory-"))
    home = work / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    redis_server = start_redis_server()
    moto = SeededMoto(args.accounts, args.roles, work, config_rows=1)
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(
            {
                **aws_env(moto.url, inherit=False),
                "PATH": saved.get("PATH", ""),
                "REDIS_URL": redis_server.url,
                "CONSOLEME_ASSETS_CONFIG": str(BENCH_CONFIG),
                "DAGSTER_HOME": str(home),
            }
        )
        from consoleme_assets.cli.main import main as cli

        if cli(["refresh", "--select", "aws_accounts"]) != 0:
            raise RuntimeError("aws_accounts failed")
        tracemalloc.start(args.frames if args.top else 1)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        sampler = PeakSampler() if args.top else None
        code = cli(["refresh", "--select", ",".join(PER_ACCOUNT_ASSETS)])
        peak = tracemalloc.get_traced_memory()[1]
        if sampler is not None:
            sampler.report(args.top)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        accounts = args.accounts + 1
        print(
            json.dumps(
                {
                    "accounts": accounts,
                    "roles": args.roles,
                    "exit_code": code,
                    "traced_peak_mib": round((peak - before) / MIB, 2),
                    "traced_left_mib": round((after - before) / MIB, 2),
                    "traced_peak_kib_per_account": round((peak - before) / accounts / 1024, 2),
                }
            ),
            flush=True,
        )
        return 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
        moto.stop()
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
