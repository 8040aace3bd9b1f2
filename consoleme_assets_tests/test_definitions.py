"""The code location loads, as `dagster dev` and `dagster definitions validate` load it."""

import datetime as dt
import itertools
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from consoleme_assets.definitions import defs
from consoleme_assets_tests.catalog import schedule

ROOT = Path(__file__).resolve().parent.parent

inventory_every_45_minutes = schedule("inventory_every_45_minutes")


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"aws_accounts", "s3_buckets"} <= keys
    assert defs.resolve_job_def("inventory_job")
    assert defs.resolve_sensor_def("aws_account_discovery_sensor")


def test_workspace_validates_with_dagster_cli(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schedule_refreshes_all_accounts_in_one_run():
    # The context as a context manager: on exit it closes the instance it opens from the ref (left open, that
    # instance stays Dagster's current defs-state storage for every later test in the worker).
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 1, 0, 45, tzinfo=dt.UTC)
        ) as context,
    ):
        assert isinstance(inventory_every_45_minutes(context), dg.SkipReason)
        instance.add_dynamic_partitions("aws_accounts", ["111111111111", "222222222222", "333333333333"])
        request = inventory_every_45_minutes(context)
        assert request.tags["dagster/asset_partition_range_start"] == "111111111111"
        assert request.tags["dagster/asset_partition_range_end"] == "333333333333"


def test_cadence_is_really_every_45_minutes():
    from dagster._utils.schedules import cron_string_iterator  # the evaluator Dagster itself uses

    from consoleme_assets.lib.datasets import EVERY_45_MINUTES

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    ticks = sorted(
        {
            t.timestamp()
            for cron in EVERY_45_MINUTES.cron
            for t, _ in zip(cron_string_iterator(start, cron, "UTC"), range(40), strict=False)  # 40 of an endless one
        }
    )[:60]
    assert {b - a for a, b in itertools.pairwise(ticks)} == {45 * 60}
