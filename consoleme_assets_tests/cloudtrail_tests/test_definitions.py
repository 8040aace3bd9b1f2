"""The cloudtrail domain's job and hourly schedule (derived from its declarations), in the code location."""

import re

import dagster as dg

from consoleme_assets import definitions as main

MERGED = main.defs  # the code location, which merges this domain


def test_hourly_utc_running():
    schedule = MERGED.resolve_schedule_def("cloudtrail_denies_hourly")
    # Hourly, at the minute lib/spread.py gives the job (no two scheduled runs start in the same minute).
    assert re.fullmatch(r"[0-5]?\d \* \* \* \*", schedule.cron_schedule) and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = MERGED.resolve_job_def("cloudtrail_denies_job")
    assert schedule.job_name == job.name  # the queue drain too, so cloudtrail_denies stays fresh in quiet hours
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "cloudtrail_denies",
        "cloudtrail_errors_by_arn",
    }
    assert job.tags["consoleme_assets/dataset"] == "cloudtrail_denies,cloudtrail_errors_by_arn"
    denies = MERGED.resolve_assets_def("cloudtrail_denies")
    assert denies.op.pool == "consoleme/cloudtrail_denies"  # one drain at a time, however launched


def test_merges_with_the_code_location():
    dg.Definitions.validate_loadable(MERGED)
