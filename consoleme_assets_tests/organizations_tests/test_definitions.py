"""The organizations domain's job and hourly schedule, and that its definitions merge into the code location."""

import dagster as dg

from consoleme_assets import definitions as main

MERGED = main.defs  # the code location, which merges this domain


def test_hourly_utc_running_both_assets_in_one_job():
    schedule = MERGED.resolve_schedule_def("organizations_hourly")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = MERGED.resolve_job_def("organizations_job")
    assert schedule.job_name == job.name
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "service_control_policies",
        "organization_structure",
    }


def test_merges_with_the_code_location():
    dg.Definitions.validate_loadable(MERGED)
