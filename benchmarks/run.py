"""Issue 7 benchmark: the raw floor vs `consoleme-assets refresh` on the same seeded moto and Redis.

    .venv/bin/python -m benchmarks.run                         # N = 10, 50, 100 accounts x M = 200 roles
    .venv/bin/python -m benchmarks.run --accounts 10 --roles 50 --policies-rows 10000 --out /tmp/bench

For each N: a fresh moto (`benchmarks.moto_seeded`, seeded in-process), a flushed Redis db and a fresh
DAGSTER_HOME; `consoleme-assets refresh --select aws_accounts` (setup: the account partitions); a warm-up
floor pass (the first write of an empty Redis scans hashes for ownership; both measured runs then see the
same warm state); then, measured: the floor (`benchmarks.floor`, subprocess) and `consoleme-assets refresh
--select <every per-account asset>` (subprocess, as a user runs it). Each measured run: wall time, peak RSS
of its process tree (sampled from /proc every 50 ms), Redis `INFO memory`. Then `policies_table` over
--policies-rows rows (`benchmarks.policies_bench`). Writes report.md and report.json and prints one line per figure.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from consoleme_assets.sandbox.servers import free_port, start_redis_server

from .instance import dagster_instance
from .proc import cpu_seconds, tree_rss_bytes

REPO = Path(__file__).resolve().parent.parent
BENCH_CONFIG = REPO / "benchmarks" / "bench.yaml"


def aws_env(endpoint: str | None = None, inherit: bool = True) -> dict[str, str]:
    """The environment of a process talking to moto: this one's without its AWS_ and DAGSTER_ variables (unless
    `inherit` is False), test credentials, us-east-1, and `endpoint` as AWS_ENDPOINT_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DAGSTER_"))} if inherit else {}
    env |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


PER_ACCOUNT_ASSETS = (
    "aws_config_resources",
    "iam_resources",
    "managed_policies",
    "s3_buckets",
    "sns_topics",
    "sqs_queues",
)
TARGET_RATIO = 1.2
KEPT_MARKER = "<!-- hand-written below: kept when the report is regenerated -->"


def derived_config(path: Path, extra_yaml: str) -> Path:
    """bench.yaml plus `extra_yaml`, written to `path`. Not `extends: bench.yaml`: ConsoleMe resolves every
    `extends` in a chain against the first file's directory, so bench.yaml's relative one breaks elsewhere."""
    base = BENCH_CONFIG.read_text().replace("extends: ../", f"extends: {REPO}/", 1)
    path.write_text(base + "\n" + extra_yaml)
    return path


# -- measuring a process tree --------------------------------------------------------------------


def run_measured(
    argv: list[str], env: dict[str, str], log: Path, timeout: float = 1800, watch_pid: int | None = None
) -> dict[str, Any]:
    """Run argv; wall seconds, CPU seconds (its own, and `watch_pid`'s meanwhile: moto), peak RSS of its process
    tree, exit code; output to `log`. CPU seconds are what load on a shared box distorts least."""
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    watched0 = cpu_seconds(watch_pid) if watch_pid else 0.0
    t0 = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss_bytes(proc.pid))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            stop.set()
            sampler.join()
    wall = round(time.monotonic() - t0, 3)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's process tree, reaped by wait()
    out = {
        "wall_seconds": wall,
        "peak_rss_bytes": peak,
        "exit_code": rc,
        "log": str(log),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime, 2),
        "loadavg_1min_after": _loadavg(),
    }
    if watch_pid:
        out["moto_cpu_seconds"] = round(cpu_seconds(watch_pid) - watched0, 2)
    return out


def _loadavg() -> float:
    """The machine's 1-minute load average: other work on a shared box skews every timing."""
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def redis_memory(url: str) -> dict[str, int]:
    info = redis.Redis.from_url(url).info("memory")
    return {"used_memory_bytes": int(info["used_memory"]), "used_memory_peak_bytes": int(info["used_memory_peak"])}


# -- moto ------------------------------------------------------------------------------------------


class SeededMoto:
    def __init__(self, accounts: int, roles: int, workdir: Path, config_rows: int, latency_ms: float = 0.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.manifest_path = workdir / f"moto-{accounts}.json"
        self.manifest_path.unlink(missing_ok=True)  # an earlier run's would say "ready" before this one is
        self.log = open(workdir / f"moto-{accounts}.log", "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.moto_seeded",
                "--port",
                str(self.port),
                "--accounts",
                str(accounts),
                "--roles",
                str(roles),
                "--config-rows",
                str(config_rows),
                "--manifest",
                str(self.manifest_path),
                "--parent-pid",
                str(os.getpid()),
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        t0 = time.monotonic()
        while not self.manifest_path.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_seeded exited with {self.proc.returncode}; see {self.log.name}")
            if time.monotonic() - t0 > 300:
                raise RuntimeError("moto_seeded did not become ready in 300 s")
            time.sleep(0.1)
        self.manifest = json.loads(self.manifest_path.read_text())
        self.ready_seconds = round(time.monotonic() - t0, 2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- one size ----------------------------------------------------------------------------------------


def bench_size(
    accounts: int,
    roles: int,
    redis_url: str,
    workdir: Path,
    config_rows: int,
    max_concurrent: int | None,
    storage: str = "sqlite",
    latency_ms: float = 0.0,
) -> dict[str, Any]:
    redis.Redis.from_url(redis_url).flushdb()
    moto = SeededMoto(accounts, roles, workdir, config_rows, latency_ms)
    home = workdir / f"dagster_home_{accounts}"
    try:
        with dagster_instance(storage, home, workdir) as instance_env:
            return _bench_size(accounts, roles, redis_url, workdir, max_concurrent, storage, moto, home, instance_env)
    finally:
        moto.stop()


def _bench_size(
    accounts: int,
    roles: int,
    redis_url: str,
    workdir: Path,
    max_concurrent: int | None,
    storage: str,
    moto: SeededMoto,
    home: Path,
    instance_env: dict[str, str],
) -> dict[str, Any]:
    config = BENCH_CONFIG
    if max_concurrent:
        config = derived_config(
            workdir / "bench-concurrency.yaml", f"consoleme_assets:\n  max_concurrent_accounts: {max_concurrent}\n"
        )
    env = {
        **aws_env(moto.url),
        "REDIS_URL": redis_url,
        "CONSOLEME_ASSETS_CONFIG": str(config),
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        **instance_env,
    }
    cli = [str(Path(sys.executable).parent / "consoleme-assets"), "refresh"]
    floor = [sys.executable, "-m", "benchmarks.floor"]
    out: dict[str, Any] = {
        "accounts_seeded": accounts,
        "roles_per_account": roles,
        "dagster_storage": storage,
        "moto_seed_seconds": moto.manifest["seed_seconds"],
        "moto_ready_seconds": moto.ready_seconds,
    }
    out["setup_aws_accounts"] = run_measured(cli + ["--select", "aws_accounts"], env, workdir / f"setup-{accounts}.log")
    out["floor_warmup"] = run_measured(
        floor + ["--json-out", str(workdir / f"floor-warmup-{accounts}.json")],
        env,
        workdir / f"floor-warmup-{accounts}.log",
        watch_pid=moto.proc.pid,
    )
    out["floor"] = run_measured(
        floor + ["--json-out", str(workdir / f"floor-{accounts}.json")],
        env,
        workdir / f"floor-{accounts}.log",
        watch_pid=moto.proc.pid,
    )
    out["floor"]["redis"] = redis_memory(redis_url)
    out["floor"]["detail"] = json.loads((workdir / f"floor-{accounts}.json").read_text())
    out["dagster"] = run_measured(
        cli + ["--select", ",".join(PER_ACCOUNT_ASSETS)],
        env,
        workdir / f"dagster-{accounts}.log",
        watch_pid=moto.proc.pid,
    )
    events_json = workdir / f"events-{accounts}.json"  # counted before event_cost adds its probe run
    counted = run_measured(
        [sys.executable, "-m", "benchmarks.events", "--json-out", str(events_json)],
        env,
        workdir / f"events-{accounts}.log",
    )
    if counted["exit_code"] == 0:
        out["dagster"]["events"] = json.loads(events_json.read_text())
    out["dagster"]["redis"] = redis_memory(redis_url)
    out["dagster"]["output"] = Path(out["dagster"]["log"]).read_text().strip().splitlines()[-12:]
    out["partitions"] = out["floor"]["detail"]["accounts"]
    # The measured reason for the gap: what Dagster's own event writes cost on this instance.
    events = out["partitions"] * len(PER_ACCOUNT_ASSETS)
    cost_json = workdir / f"event-cost-{accounts}.json"
    cost = run_measured(
        [sys.executable, "-m", "benchmarks.event_cost", "--partitions", str(events), "--json-out", str(cost_json)],
        env,
        workdir / f"event-cost-{accounts}.log",
    )
    if cost["exit_code"] == 0:
        out["event_cost"] = json.loads(cost_json.read_text())
    out["ratio"] = round(out["dagster"]["wall_seconds"] / out["floor"]["wall_seconds"], 3)
    out["ratio_in_datasets"] = _in_run_ratio(out)
    return out


def _in_run_ratio(out: dict[str, Any]) -> float | None:
    """Dagster's time inside the per-account run (the CLI's per-asset line) over the floor's dataset time."""
    import re

    secs = [float(m.group(1)) for line in out["dagster"]["output"] if (m := re.search(r"accounts in ([\d.]+)s", line))]
    floor = out["floor"]["detail"]["seconds_in_datasets"]
    return round(max(secs) / floor, 3) if secs and floor else None


# -- report ---------------------------------------------------------------------------------------------


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _cpu(run: dict[str, Any]) -> str:
    return f"{run.get('cpu_seconds', 0):.1f} s (+{run.get('moto_cpu_seconds', 0):.1f} s)"


def memory_slope(sizes: list[dict[str, Any]]) -> str | None:
    """Least-squares slope of the refresh's peak RSS in N (MiB per 100 accounts), when there are two sizes or more."""
    points = [(s["partitions"], s["dagster"]["peak_rss_bytes"] / 2**20) for s in sizes]
    if len({n for n, _ in points}) < 2:
        return None
    mean_n = sum(n for n, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    slope = sum((n - mean_n) * (m - mean_m) for n, m in points) / sum((n - mean_n) ** 2 for n, _ in points)
    return (
        f"dagster peak RSS grows {slope * 100:.1f} MiB per 100 accounts over N = "
        f"{', '.join(str(n) for n, _ in points)} (intercept {mean_m - slope * mean_n:.0f} MiB)"
    )


def summary_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for s in report["sizes"]:
        n = f"N={s['partitions']} ({s['accounts_seeded']}+hub) x M={s['roles_per_account']}"
        f, d = s["floor"], s["dagster"]
        lines += [
            f"{n}: floor wall {f['wall_seconds']:.1f}s (in datasets {f['detail']['seconds_in_datasets']:.1f}s), "
            f"peak RSS {mib(f['peak_rss_bytes'])}, exit {f['exit_code']}",
            f"{n}: dagster refresh wall {d['wall_seconds']:.1f}s, peak RSS {mib(d['peak_rss_bytes'])}, exit {d['exit_code']}"
            f" (load avg after floor {f.get('loadavg_1min_after')}, after dagster {d.get('loadavg_1min_after')})",
            f"{n}: ratio dagster/floor {s['ratio']:.2f}x wall, {s['ratio_in_datasets']}x in-run "
            f"(target <= {TARGET_RATIO}x: {'met' if s['ratio'] <= TARGET_RATIO else 'NOT met'})",
            f"{n}: CPU floor {_cpu(f)}, dagster {_cpu(d)}; dagster event-log rows "
            f"{(d.get('events') or {}).get('total', '?')} in {(d.get('events') or {}).get('runs', '?')} run(s) "
            f"{json.dumps((d.get('events') or {}).get('by_type', {}))}",
            f"{n}: Redis used_memory {mib(d['redis']['used_memory_bytes'])} (peak {mib(d['redis']['used_memory_peak_bytes'])})",
            *([_event_cost_line(n, s)] if s.get("event_cost") else []),
        ]
    slope = memory_slope(report["sizes"])
    if slope:
        lines.append(f"memory slope: {slope}")
    p = report.get("policies_table")
    if p:
        ok = p["gather_plus_build_seconds"] < 5 and p["peak_rss_bytes"] < 2**30
        lines.append(
            f"policies_table {p['rows']} rows: gather {p['gather_seconds']:.2f}s + build {p['build_seconds']:.2f}s "
            f"= {p['gather_plus_build_seconds']:.2f}s, peak RSS {mib(p['peak_rss_bytes'])} "
            f"(+{mib(p['peak_growth_bytes'])}) (target < 5 s and < 1 GiB: {'met' if ok else 'NOT met'})"
        )
    return lines


def _event_cost_line(n: str, s: dict[str, Any]) -> str:
    c = s["event_cost"]
    events = s["partitions"] * len(PER_ACCOUNT_ASSETS)
    total = events * (c["planned_ms_per_event"] + c["materialization_ms_per_event"]) / 1000
    gap = s["dagster"]["wall_seconds"] - s["floor"]["wall_seconds"]
    return (
        f"{n}: Dagster event log ({s.get('dagster_storage', 'sqlite')}): {c['planned_ms_per_event']} ms per planned "
        f"and {c['materialization_ms_per_event']} ms per materialization event; this refresh writes {events} of "
        f"each = {total:.1f}s of event writes, against a {gap:.1f}s gap to the floor"
    )


def write_markdown(report: dict[str, Any], path: Path) -> None:
    m = report["machine"]
    md = [
        "# Benchmark report (issue 7)",
        "",
        f"Machine: {m['cpus']} vCPU, {m['memory_gib']} GiB, {m['platform']}, Python {m['python']}. "
        f"Run at {report['started']}; total {report['total_seconds']:.0f} s. "
        f"max_concurrent_accounts = {report['max_concurrent_accounts']}. "
        f"Dagster instance storage: {report.get('dagster_storage', 'sqlite')}. "
        f"Added latency per AWS call: {report.get('aws_latency_ms', 0):g} ms.",
        "",
        "N counts account partitions (the seeded members plus the hub). Ratio = dagster wall / floor wall, "
        "both as subprocesses (interpreter start and imports included); in-run = the CLI's per-account run "
        "time / the floor's time inside its datasets.",
        "",
        "CPU = user+sys seconds of the measured process tree (+ moto's meanwhile); events = event-log rows of "
        "the per-account runs (`benchmarks.events`); load = 1-minute load average after the run.",
        "",
        "| N x M | floor wall | floor peak RSS | dagster wall | dagster peak RSS | ratio (wall) | ratio (in-run) "
        "| floor CPU (+moto) | dagster CPU (+moto) | events (runs) | Redis used | warm-up floor | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["sizes"]:
        f, d = s["floor"], s["dagster"]
        ev = d.get("events") or {}
        md.append(
            f"| {s['partitions']} x {s['roles_per_account']} | {f['wall_seconds']:.1f} s | {mib(f['peak_rss_bytes'])} | "
            f"{d['wall_seconds']:.1f} s | {mib(d['peak_rss_bytes'])} | {s['ratio']:.2f}x | {s['ratio_in_datasets']}x | "
            f"{_cpu(f)} | {_cpu(d)} | {ev.get('total', '?')} ({ev.get('runs', '?')}) | "
            f"{mib(d['redis']['used_memory_bytes'])} | {s['floor_warmup']['wall_seconds']:.1f} s | "
            f"{f.get('loadavg_1min_after')} / {d.get('loadavg_1min_after')} |"
        )
    slope = memory_slope(report["sizes"])
    if slope:
        md += ["", f"Memory slope: {slope}."]
    md += [
        "",
        "Floor time per dataset (s):",
        "",
        "| N | " + " | ".join(PER_ACCOUNT_ASSETS) + " |",
        "|---|" + "---|" * len(PER_ACCOUNT_ASSETS),
    ]
    for s in report["sizes"]:
        ds = s["floor"]["detail"]["datasets"]
        md.append(f"| {s['partitions']} | " + " | ".join(f"{ds[n]['seconds']:.1f}" for n in PER_ACCOUNT_ASSETS) + " |")
    md += ["", "Dagster CLI output (last lines):", ""]
    for s in report["sizes"]:
        md += [f"N={s['partitions']}:", "```", *s["dagster"]["output"], "```"]
    p = report.get("policies_table")
    if p:
        md += [
            "",
            f"## policies_table over {p['rows']} rows",
            "",
            f"gather_inputs {p['gather_seconds']} s, build_policies_table {p['build_seconds']} s "
            f"(sum {p['gather_plus_build_seconds']} s); JSON encoding of the rows {p['json_encode_seconds']} s "
            f"({mib(p['json_bytes'])}); process peak RSS {mib(p['peak_rss_bytes'])}, growth during the step at most "
            f"{mib(p['peak_growth_bytes'])}; Redis holding the inputs {mib(p['redis_used_memory_bytes'])}. Items: "
            f"{json.dumps(p['items'])}.",
        ]
    md += ["", "## Summary", "", *[f"- {line}" for line in summary_lines(report)], ""]
    kept = path.read_text().split(KEPT_MARKER, 1) if path.exists() else []
    if len(kept) == 2:  # hand-written sections below the marker survive a re-run
        md += [KEPT_MARKER + kept[1].rstrip("\n"), ""]
    path.write_text("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="10,50,100", help="comma-separated N (member accounts seeded)")
    parser.add_argument("--roles", type=int, default=200, help="M: roles per account")
    parser.add_argument("--config-rows", type=int, default=20, help="AWS Config rows per account and region")
    parser.add_argument("--policies-rows", type=int, default=100_000, help="policies_table size (0: skip)")
    parser.add_argument(
        "--max-concurrent-accounts",
        type=int,
        default=None,
        help="override consoleme_assets.max_concurrent_accounts (default: the setting, 8)",
    )
    parser.add_argument(
        "--dagster-storage",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the instance the refresh records into: dagster.yaml (SQLite) or deploy/dagster.yaml "
        "(PostgreSQL, a throwaway local cluster with fsync on)",
    )
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=0.0,
        help="delay every moto answer by this much (loopback moto answers in ~1 ms, AWS in tens)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks"), help="where report.md/report.json go")
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="consoleme-bench-"))
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t0 = time.monotonic()
    sizes = [int(n) for n in args.accounts.split(",") if n.strip()]
    report: dict[str, Any] = {
        "started": started,
        "workdir": str(workdir),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "max_concurrent_accounts": args.max_concurrent_accounts or 8,
        "dagster_storage": args.dagster_storage,
        "aws_latency_ms": args.aws_latency_ms,
        "sizes": [],
    }
    with start_redis_server(kind="auto") as server:
        url = server.url.rsplit("/", 1)[0] + "/0"
        for n in sizes:
            report["sizes"].append(
                bench_size(
                    n,
                    args.roles,
                    url,
                    workdir,
                    args.config_rows,
                    args.max_concurrent_accounts,
                    args.dagster_storage,
                    args.aws_latency_ms,
                )
            )
            for line in summary_lines({"sizes": report["sizes"][-1:]}):
                print(line, flush=True)
        if args.policies_rows:
            pjson = workdir / "policies.json"
            env = {**os.environ, "CONSOLEME_ASSETS_CONFIG": str(BENCH_CONFIG)}
            res = run_measured(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.policies_bench",
                    "--redis-url",
                    server.url.rsplit("/", 1)[0] + "/1",
                    "--rows",
                    str(args.policies_rows),
                    "--json-out",
                    str(pjson),
                ],
                env,
                workdir / "policies.log",
            )
            if res["exit_code"] == 0:
                report["policies_table"] = json.loads(pjson.read_text())
            else:
                report["policies_table_error"] = Path(res["log"]).read_text()[-2000:]
    report["total_seconds"] = round(time.monotonic() - t0, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    write_markdown(report, out_dir / "report.md")
    for line in summary_lines(report)[-1:] if report.get("policies_table") else []:
        print(line)
    if memory_slope(report["sizes"]):
        print(f"memory slope: {memory_slope(report['sizes'])}")
    print(f"report: {out_dir / 'report.md'}, {out_dir / 'report.json'} ({report['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
