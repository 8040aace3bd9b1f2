"""CPU per test of the test suite: where `make test`'s two cores go (issue 14).

    .venv/bin/python -m pytest -q -n 2 -m 'not e2e' -p benchmarks.suite_cpu   # writes $SUITE_CPU_DIR/cpu-<pid>.jsonl
    .venv/bin/python -m benchmarks.suite_cpu [--top 25]                 # sums and ranks them

As a pytest plugin it records, per test (setup to teardown), the CPU seconds of the worker process and all
its descendants (utime+stime+cutime+cstime from /proc, so reaped subprocesses count), and the wall time.
Session-scoped servers the worker started (moto, redis-server) count towards the test that kept them busy.
Processes that leave the worker's tree are missed: the e2e figures look low (test_operations counted 36 CPU s
for about 30 Dagster runs), so treat them as a lower bound; the unit tests' figures are complete.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from .proc import tree_cpu_seconds

OUT = Path(os.environ.get("SUITE_CPU_DIR", "/tmp/suite-cpu"))
_started: dict[str, tuple[float, float]] = {}


def pytest_runtest_setup(item) -> None:
    _started[item.nodeid] = (tree_cpu_seconds(os.getpid()), time.monotonic())


def pytest_runtest_logreport(report) -> None:
    if report.when != "teardown" or report.nodeid not in _started:
        return
    cpu0, wall0 = _started.pop(report.nodeid)
    OUT.mkdir(parents=True, exist_ok=True)
    row = {
        "id": report.nodeid,
        "cpu": round(tree_cpu_seconds(os.getpid()) - cpu0, 2),
        "wall": round(time.monotonic() - wall0, 2),
    }
    with (OUT / f"cpu-{os.getpid()}.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=str(OUT))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for f in sorted(Path(args.dir).glob("cpu-*.jsonl")) for line in f.read_text().splitlines()]
    if not rows:
        print(f"no cpu-*.jsonl in {args.dir}: run pytest with -p benchmarks.suite_cpu first")
        return 1
    e2e = [r for r in rows if "/e2e_tests/" in r["id"]]
    print(f"{len(rows)} tests, {sum(r['cpu'] for r in rows):.0f} CPU s ({sum(r['cpu'] for r in e2e):.0f} in e2e tests)")
    print("   CPU s   wall s  test")
    for r in sorted(rows, key=lambda r: -r["cpu"])[: args.top]:
        print(f"{r['cpu']:8.1f} {r['wall']:8.1f}  {r['id']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
