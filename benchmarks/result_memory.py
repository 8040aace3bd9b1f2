"""Issue 23 item 1: how much of a `consoleme-assets refresh` the run's in-memory result keeps, per account.

    .venv/bin/python -m benchmarks.result_memory --accounts 300 --roles 2

A seeded moto (`benchmarks.moto_seeded`), a Redis and a fresh SQLite DAGSTER_HOME; `refresh --select
aws_accounts`; then, in this process under tracemalloc, the refresh of the six per-account datasets with every
`ExecuteInProcessResult` it makes held on to. Prints the traced memory after the refresh with the results held and
after dropping them, and the difference per account. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import tracemalloc
from pathlib import Path

from consoleme_assets.sandbox.servers import start_redis_server

from .run import BENCH_CONFIG, PER_ACCOUNT_ASSETS, REPO, SeededMoto, aws_env

MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.result_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300, help="member accounts seeded (the hub is one more)")
    parser.add_argument("--roles", type=int, default=2)
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
        import dagster as dg

        from consoleme_assets.cli import refresh as cli_refresh
        from consoleme_assets.cli.main import main as cli

        if cli(["refresh", "--select", "aws_accounts"]) != 0:
            raise RuntimeError("aws_accounts failed")
        held: list[dg.ExecuteInProcessResult] = []
        materialize = cli_refresh.dg.materialize

        def holding(*a, **k):
            held.append(materialize(*a, **k))
            return held[-1]

        cli_refresh.dg.materialize = holding
        tracemalloc.start(1)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        code = cli(["refresh", "--select", ",".join(PER_ACCOUNT_ASSETS)])
        gc.collect()
        with_results = tracemalloc.get_traced_memory()[0]
        events = sum(len(r.all_events) for r in held)
        held.clear()
        gc.collect()
        without = tracemalloc.get_traced_memory()[0]
        accounts = args.accounts + 1
        print(
            f"{accounts} accounts x {args.roles} roles (exit {code}): traced +{(with_results - before) / MIB:.1f} MiB "
            f"after the refresh with its results held, +{(without - before) / MIB:.1f} MiB without them; the results "
            f"({events} events) kept {(with_results - without) / MIB:.1f} MiB, "
            f"{(with_results - without) / accounts / 1024:.1f} KiB per account"
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
