"""The requests domain's job and 5-minute schedule, and that its definitions merge into the code location."""

import re

import dagster as dg

from consoleme_assets import definitions as main

MERGED = main.defs  # the code location, which merges this domain


def test_every_5_minutes_utc_running():
    schedule = MERGED.resolve_schedule_def("policy_requests_every_5_minutes")
    # Every 5 minutes, offset within them by lib/spread.py.
    assert re.fullmatch(r"(\*|[0-4]-59)/5 \* \* \* \*", schedule.cron_schedule), schedule.cron_schedule
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = MERGED.resolve_job_def("policy_requests_job")
    assert schedule.job_name == job.name
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {"policy_requests"}


def test_merges_with_the_code_location():
    dg.Definitions.validate_loadable(MERGED)
