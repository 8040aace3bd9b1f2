"""Issue 15: the refresh at 1,000 accounts, on the SQLite and the PostgreSQL (production) instance.

    .venv/bin/python -m benchmarks.scale                                   # N = 250, 500, 1000 x 50 roles, both storages
    .venv/bin/python -m benchmarks.scale --accounts 10,20 --roles 10 --storage sqlite --out /tmp/scale

Per storage: `benchmarks.run` over the sizes (floor, refresh, wall, in-run, CPU, peak RSS, event-log rows per
run, memory slope in N; its report.md/json go to <out>/<storage>/), then `benchmarks.event_cost` with every
variant on a fresh instance of that storage (<out>/<storage>/event-variants.json). Writes <out>/scale.md and
<out>/scale.json: one table over both storages. Asserts nothing about time. Nice it on a shared box.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import run as bench_run
from .instance import dagster_instance

REPO = Path(__file__).resolve().parent.parent


def event_variants(storage: str, partitions: int, out: Path, variants: str = "all") -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="consoleme-evcost-"))
    with dagster_instance(storage, workdir / "home", workdir) as instance_env:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")},
            "DAGSTER_HOME": str(workdir / "home"),
            **instance_env,
        }
        result = out / f"event-variants-{storage}.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.event_cost",
                "--partitions",
                str(partitions),
                "--variants",
                variants,
                "--json-out",
                str(result),
            ],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if proc.returncode != 0:
            return [{"error": proc.stderr[-2000:]}]
        return json.loads(result.read_text())


def write_markdown(report: dict[str, Any], path: Path) -> None:
    md = [
        f"# Scale benchmark (issue 15): {report['started']}, {report['total_seconds']:.0f} s",
        "",
        "| storage | N x M | floor wall | dagster wall | ratio wall / in-run | floor CPU (+moto) | dagster CPU (+moto) "
        "| dagster peak RSS | event rows (runs) | load after floor / dagster |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for storage, rep in report["storages"].items():
        for s in rep.get("sizes", []):
            f, d = s["floor"], s["dagster"]
            ev = d.get("events") or {}
            md.append(
                f"| {storage} | {s['partitions']} x {s['roles_per_account']} | {f['wall_seconds']:.1f} s | "
                f"{d['wall_seconds']:.1f} s | {s['ratio']:.2f}x / {s['ratio_in_datasets']}x | {bench_run._cpu(f)} | "
                f"{bench_run._cpu(d)} | {bench_run.mib(d['peak_rss_bytes'])} | {ev.get('total', '?')} "
                f"({ev.get('runs', '?')}) | {f.get('loadavg_1min_after')} / {d.get('loadavg_1min_after')} |"
            )
    for storage, rep in report["storages"].items():
        slope = bench_run.memory_slope(rep.get("sizes", []))
        if slope:
            md.append(f"\n{storage}: {slope}.")
    for storage, variants in report.get("event_variants", {}).items():
        md += [
            "",
            f"Event-log variants on {storage} (`benchmarks.event_cost`):",
            "",
            "| variant | partitions | run wall | ms / partition | CPU ms / partition | planned ms | materialization ms | load |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for v in variants:
            if "error" in v or "skipped" in v:
                md.append(f"| {v.get('variant', '?')} | {v.get('skipped') or 'error'} |||||||")
                continue
            md.append(
                f"| {v['variant']} | {v['partitions']} | {v['run_seconds']} s | {v['ms_per_partition']} | "
                f"{v['cpu_ms_per_partition']} | {v.get('planned_ms_per_event', '')} | "
                f"{v.get('materialization_ms_per_event', '')} | {v.get('loadavg_1min')} |"
            )
    path.write_text("\n".join(md) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="250,500,1000")
    parser.add_argument("--roles", type=int, default=50)
    parser.add_argument("--config-rows", type=int, default=20)
    parser.add_argument("--storage", default="sqlite,postgres")
    parser.add_argument("--aws-latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--variant-partitions", type=int, default=1200, help="partitions per event_cost variant (0: skip the variants)"
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scale"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": vars(args),
        "storages": {},
        "event_variants": {},
    }
    for storage in [s.strip() for s in args.storage.split(",") if s.strip()]:
        sub = out / storage
        bench_run.main(
            [
                "--accounts",
                args.accounts,
                "--roles",
                str(args.roles),
                "--config-rows",
                str(args.config_rows),
                "--policies-rows",
                "0",
                "--dagster-storage",
                storage,
                "--aws-latency-ms",
                str(args.aws_latency_ms),
                "--out",
                str(sub),
            ]
        )
        report["storages"][storage] = json.loads((sub / "report.json").read_text())
        if args.variant_partitions:
            report["event_variants"][storage] = event_variants(storage, args.variant_partitions, sub)
    report["total_seconds"] = round(time.monotonic() - t0, 1)
    (out / "scale.json").write_text(json.dumps(report, indent=2))
    write_markdown(report, out / "scale.md")
    print(f"report: {out / 'scale.md'} ({report['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
