"""Profile `consoleme-assets refresh` of the per-account assets (and the floor, for comparison).

    .venv/bin/python -m benchmarks.profile --accounts 10 --roles 200 [--what dagster|floor|both] [--top 25]

Sets up as `benchmarks.run` does (seeded moto, Redis, fresh DAGSTER_HOME, aws_accounts, one warm-up floor
pass), then runs the refresh *in this process* under a wall-clock sampling profiler that sees every thread
(`sys._current_frames()` every 5 ms; py-spy is not installed and cProfile/pyinstrument see one thread only).
Prints, per run: busy samples by the thread's innermost frame ("self") and by function anywhere on the stack
("inclusive"), counting only samples where the thread is not idle (idle = parked in a lock/queue/select
wait), plus the share of busy samples per top-level package. Writes benchmarks/profile-<what>.txt.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

IDLE = {
    ("threading.py", "wait"),
    ("threading.py", "_wait_for_tstate_lock"),
    ("queue.py", "get"),
    ("selectors.py", "select"),
    ("socket.py", "readinto"),
    ("ssl.py", "read"),
    ("thread.py", "_worker"),
    ("socketserver.py", "serve_forever"),
    ("connection.py", "_recv"),
    ("threading.py", "join"),
}


class Sampler:
    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.self_counts: collections.Counter = collections.Counter()
        self.incl_counts: collections.Counter = collections.Counter()
        self.pkg_counts: collections.Counter = collections.Counter()
        self.busy = self.idle = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    @staticmethod
    def _where(code) -> str:
        path = code.co_filename
        for marker in ("site-packages/", "/work/main/", "python3.11/"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        return f"{path}:{code.co_name}"

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                code = frame.f_code
                leaf = (os.path.basename(code.co_filename), code.co_name)
                if leaf in IDLE or code.co_name in ("wait", "acquire", "select", "poll", "recv_into", "recv"):
                    self.idle += 1
                    continue
                self.busy += 1
                self.self_counts[self._where(code)] += 1
                seen, pkg = set(), None
                f = frame
                while f is not None:
                    w = self._where(f.f_code)
                    if w not in seen:
                        seen.add(w)
                        self.incl_counts[w] += 1
                    f = f.f_back
                self.pkg_counts[self._where(code).split("/", 1)[0].split(":")[0]] += 1

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, title: str, seconds: float, top: int) -> str:
        b = max(1, self.busy)
        lines = [
            f"== {title}: {seconds:.1f} s wall; {self.busy} busy samples ({self.busy * self.interval:.1f} "
            f"thread-seconds), {self.idle} idle",
            "",
            "busy share by package of the innermost frame:",
        ]
        lines += [f"  {100 * n / b:5.1f}%  {k}" for k, n in self.pkg_counts.most_common(12)]
        lines += ["", f"top {top} self (innermost frame):"]
        lines += [f"  {100 * n / b:5.1f}%  {k}" for k, n in self.self_counts.most_common(top)]
        lines += ["", f"top {top} inclusive (our code and dagster only):"]
        ours = [
            (k, n)
            for k, n in self.incl_counts.most_common()
            if k.startswith(("consoleme_assets", "dagster", "benchmarks"))
        ]
        lines += [f"  {100 * n / b:5.1f}%  {k}" for k, n in ours[:top]]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--what", choices=("dagster", "floor", "both"), default="both")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args(argv)

    from consoleme_assets.sandbox.servers import start_redis_server

    from . import run as bench

    workdir = Path(tempfile.mkdtemp(prefix="consoleme-profile-"))
    with start_redis_server(kind="auto") as server:
        moto = bench.SeededMoto(args.accounts, args.roles, workdir, 20)
        try:
            home = workdir / "dagster_home"
            home.mkdir()
            shutil.copy(bench.REPO / "dagster.yaml", home / "dagster.yaml")
            env = {
                **bench.aws_env(moto.url, inherit=False),
                "REDIS_URL": server.url,
                "CONSOLEME_ASSETS_CONFIG": str(bench.BENCH_CONFIG),
                "DAGSTER_HOME": str(home),
            }
            os.environ.update(env)
            for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                os.environ.pop(k, None)
            from consoleme_assets.cli import main as cli_main

            from .floor import run_floor

            assert cli_main(["refresh", "--select", "aws_accounts"]) == 0
            run_floor()  # warm-up: owner indexes exist from here on
            texts = []
            whats = ("floor", "dagster") if args.what == "both" else (args.what,)
            for what in whats:
                t0 = time.monotonic()
                with Sampler() as sampler:
                    if what == "floor":
                        run_floor()
                    else:
                        cli_main(["refresh", "--select", ",".join(bench.PER_ACCOUNT_ASSETS)])
                texts.append(
                    sampler.report(f"{what} (N={args.accounts}+hub, M={args.roles})", time.monotonic() - t0, args.top)
                )
            text = "\n\n".join(texts)
            print(text)
            Path(args.out, f"profile-{args.what}.txt").write_text(text + "\n")
        finally:
            moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
