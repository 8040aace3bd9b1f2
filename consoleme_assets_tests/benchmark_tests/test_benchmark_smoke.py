"""The issue-7 benchmark runs end to end at a tiny size and writes its report (no timing assertions)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_benchmark_runs_and_writes_report(tmp_path: Path) -> None:
    from benchmarks.run import KEPT_MARKER

    (tmp_path / "report.md").write_text(f"# old generated part\n{KEPT_MARKER}\n## Hand-written\nkeep me\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--accounts",
            "2",
            "--roles",
            "3",
            "--config-rows",
            "2",
            "--policies-rows",
            "2000",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    (size,) = report["sizes"]
    assert size["partitions"] == 3  # two seeded members + the hub
    for run in ("setup_aws_accounts", "floor", "dagster"):
        assert size[run]["exit_code"] == 0, Path(size[run]["log"]).read_text()[-3000:]
        assert size[run]["wall_seconds"] > 0 and size[run]["peak_rss_bytes"] > 0
    assert not any(d["failed"] for d in size["floor"]["detail"]["datasets"].values())
    assert size["ratio"] > 0 and size["dagster"]["redis"]["used_memory_bytes"] > 0
    assert report["policies_table"]["rows"] > 1000
    events = size["dagster"]["events"]  # the per-account run's event-log rows, counted from the instance
    assert events["runs"] == 1 and events["total"] == sum(events["events_per_run"])
    assert events["by_type"]["ASSET_MATERIALIZATION"] == 3 * 6  # one per account and per-account asset
    assert events["by_type"]["ASSET_MATERIALIZATION_PLANNED"] == 3 * 6  # what marks failed accounts FAILED
    assert size["dagster"]["cpu_seconds"] > 0 and size["floor"]["cpu_seconds"] > 0
    assert size["dagster"]["moto_cpu_seconds"] >= 0
    cost = size["event_cost"]  # the event-log probe ran on the same instance, 3 partitions x 6 assets
    assert cost["partitions"] == 18 and cost["planned_ms_per_event"] > 0 and cost["materialization_ms_per_event"] > 0
    assert "Dagster event log (sqlite)" in proc.stdout
    md = (tmp_path / "report.md").read_text()
    assert "ratio" in md and "policies_table" in md
    assert "old generated part" not in md and md.count(KEPT_MARKER) == 1 and md.rstrip().endswith("keep me")
    assert "ratio dagster/floor" in proc.stdout and "policies_table" in proc.stdout
