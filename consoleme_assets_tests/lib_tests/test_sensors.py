"""The queue sensors' shared helpers: a problem skip logged once, and the unfinished run of a job."""

import logging

import dagster as dg

from consoleme_assets.lib.sensors import problem_skip, unfinished_run_id


@dg.op
def noop():
    pass


@dg.job
def drain_job():
    noop()


def skip(instance, cursor, message, level=logging.ERROR):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return problem_skip(context, message, level)


def test_a_problem_is_logged_when_it_appears_or_changes_and_shown_every_tick(capfd):
    instance = dg.DagsterInstance.ephemeral()
    first = skip(instance, None, "queue q: AccessDenied")
    assert first.skip_reason.skip_message == "queue q: AccessDenied" and first.cursor == "queue q: AccessDenied"
    assert " - ERROR - queue q: AccessDenied" in capfd.readouterr().err
    again = skip(instance, first.cursor, "queue q: AccessDenied")
    assert again.skip_reason.skip_message == "queue q: AccessDenied" and again.cursor == first.cursor
    assert "AccessDenied" not in capfd.readouterr().err
    changed = skip(instance, first.cursor, "queue q: NonExistentQueue", logging.WARNING)
    assert changed.cursor == "queue q: NonExistentQueue"
    err = capfd.readouterr().err
    assert " - WARNING - queue q: NonExistentQueue" in err and " - ERROR - " not in err


def test_unfinished_run_id_finds_a_running_or_canceling_run_of_the_job_only():
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance) as context:
        assert unfinished_run_id(context, drain_job.name) is None
        done = drain_job.execute_in_process(instance=instance)
        assert done.success and unfinished_run_id(context, drain_job.name) is None  # SUCCESS is finished
        run = instance.create_run_for_job(drain_job, status=dg.DagsterRunStatus.STARTED)
        assert unfinished_run_id(context, drain_job.name) == run.run_id
        assert unfinished_run_id(context, "other_job") is None
        instance.report_run_canceling(run)
        assert unfinished_run_id(context, drain_job.name) == run.run_id  # may still be deleting messages
        instance.report_run_canceled(run)
        assert unfinished_run_id(context, drain_job.name) is None
