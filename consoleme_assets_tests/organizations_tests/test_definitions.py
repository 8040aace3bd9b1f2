"""The organizations domain's job and hourly schedule, and that its definitions merge into the code location."""

import re

import dagster as dg

from consoleme_assets import definitions as main

MERGED = main.defs  # the code location, which merges this domain


def test_hourly_utc_running_both_assets_in_one_job():
    schedule = MERGED.resolve_schedule_def("organizations_hourly")
    # Hourly, at the minute lib/spread.py gives the job (no two scheduled runs start in the same minute).
    assert re.fullmatch(r"[0-5]?\d \* \* \* \*", schedule.cron_schedule) and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = MERGED.resolve_job_def("organizations_job")
    assert schedule.job_name == job.name
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "service_control_policies",
        "organization_structure",
    }


def test_merges_with_the_code_location():
    dg.Definitions.validate_loadable(MERGED)
