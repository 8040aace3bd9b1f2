"""Issue 15's benchmark tools run at tiny sizes and report what they measured (no timing assertions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.run import memory_slope

REPO = Path(__file__).resolve().parents[2]


def _size(n: int, rss_mib: float) -> dict:
    return {"partitions": n, "dagster": {"peak_rss_bytes": int(rss_mib * 2**20)}}


def test_memory_slope_is_mib_per_100_accounts() -> None:
    assert memory_slope([_size(10, 300)]) is None  # one size has no slope
    line = memory_slope([_size(100, 300), _size(200, 310), _size(300, 320)])
    assert line.startswith("dagster peak RSS grows 10.0 MiB per 100 accounts") and "intercept 290 MiB" in line


def test_event_cost_variants_on_sqlite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    out = tmp_path / "variants.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}, "DAGSTER_HOME": str(home)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.event_cost",
            "--partitions",
            "4",
            "--variants",
            "baseline,small-metadata,batch-env,split-2,pg-pool",
            "--json-out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_name = {v["variant"]: v for v in json.loads(out.read_text())}
    assert by_name["pg-pool"]["skipped"] == "PostgreSQL only"  # SQLite has no connection pool to tune
    for name in ("baseline", "small-metadata", "batch-env", "split-2"):
        assert by_name[name]["partitions"] == 4 and by_name[name]["cpu_seconds"] > 0, by_name[name]
    assert by_name["baseline"]["planned_ms_per_event"] > 0 and by_name["baseline"]["materialization_ms_per_event"] > 0
    bad = subprocess.run(
        [sys.executable, "-m", "benchmarks.event_cost", "--variants", "nope"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "--variants: unknown nope" in bad.stderr


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_throttled_refresh_keeps_the_clean_caches(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.throttle",
            "--accounts",
            "2",
            "--roles",
            "3",
            "--config-rows",
            "1",
            "--fraction",
            "0.25",
            "--modes",
            "standard",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    clean, standard = json.loads((tmp_path / "throttle.json").read_text())["runs"]
    assert clean["exit_code"] == 0 and clean["iam_throttled"] == 0 and clean["iam_calls"] > 0
    assert standard["retry_mode"] == "standard" and standard["exit_code"] == 0, standard["output"]
    assert standard["iam_throttled"] > 0  # the proxy did throttle, and the retries hid it
    assert standard["identical_caches"], (standard["redis_keys_differing"], standard["s3_objects_differing"])
    assert "| standard | standard |" in (tmp_path / "throttle.md").read_text()


def test_ui_partition_queries_answer(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.ui_partitions",
            "--partitions",
            "30",
            "--repeat",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (m,) = json.loads((tmp_path / "ui-partitions.json").read_text())
    health = m["partition_health"]
    assert health["keys"] == 30 and health["materialized"] == 29 and health["failed"] == 1  # every 100th fails
    stats = m["partition_stats"]["stats"]["iam_resources"]
    assert stats["numPartitions"] == 30 and stats["numMaterialized"] == 29 and stats["numFailed"] == 1
    assert m["launch_backfill"]["result"]["__typename"] == "LaunchBackfillSuccess", m["launch_backfill"]
    # The pages, as Chromium shows them: the benchmark waited for "Materialized (29)" and "Failed (1)".
    assert set(m["pages"]) == {"asset_page", "partitions_tab"} and all(p["seconds"] for p in m["pages"].values())
    report = (tmp_path / "ui-partitions.md").read_text()
    assert "launchPartitionBackfill" in report and "partitions tab in Chromium" in report


def test_celery_benchmark_counts_the_runs_that_overlapped() -> None:
    """The check that caught leftover workers: W workers must never run more than W runs at once."""
    from types import SimpleNamespace

    from benchmarks.celery_split import most_at_once

    def run(start: float, end: float) -> SimpleNamespace:
        return SimpleNamespace(start_time=start, end_time=end)

    assert most_at_once([run(0, 10), run(10, 20), run(20, 30)]) == 1  # back to back: one worker
    assert most_at_once([run(0, 10), run(1, 12), run(2, 5), run(11, 20)]) == 3
    assert most_at_once([]) == 0


def test_the_floor_runs_without_dagster_and_writes_where_the_datasets_do() -> None:
    """The floor is the same work without Dagster: importing it must not import Dagster (through the dataset
    declarations it did, 0.7 s of a 3.6 s floor), and it writes through the datasets' own storage."""
    probe = "import sys, benchmarks.floor; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout[-2000:]

    from benchmarks import floor
    from consoleme_assets.accounts.datasets import AWS_ACCOUNTS
    from consoleme_assets.aws_config.datasets import AWS_CONFIG_RESOURCES
    from consoleme_assets.iam.datasets import IAM_RESOURCES
    from consoleme_assets.inventory.datasets import MANAGED_POLICIES, S3_BUCKETS, SNS_TOPICS, SQS_QUEUES

    assert floor.INVENTORY == {d.name: d.storage for d in (S3_BUCKETS, MANAGED_POLICIES, SQS_QUEUES, SNS_TOPICS)}
    assert (floor.ACCOUNTS_STORAGE, floor.CONFIG_STORAGE, floor.IAM_STORAGE) == (
        AWS_ACCOUNTS.storage,
        AWS_CONFIG_RESOURCES.storage,
        IAM_RESOURCES.storage,
    )
