"""The schedules are spread over the hour (issue 23 item 5): each keeps its interval, no minute of the day starts
more than 3 runs of them, and the offsets are derived (a pure function of the declarations), not hand-written.
Judged with Dagster's own cron evaluator, not ours."""

import datetime as dt
import itertools
from collections import Counter

from dagster._utils.schedules import cron_string_iterator  # the evaluator Dagster itself uses

from consoleme_assets.definitions import defs
from consoleme_assets.lib.datasets import EVERY_45_MINUTES
from consoleme_assets.lib.spread import minutes_of_day, shifted, spread
from consoleme_assets_tests.catalog import DATASETS

DAY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def ticks(crons: list[str], days: int = 1) -> list[dt.datetime]:
    out = set()
    for cron in crons:
        for when in cron_string_iterator(DAY.timestamp(), cron, "UTC"):
            if when >= DAY + dt.timedelta(days=days):
                break
            out.add(when)
    return sorted(out)


def schedules() -> dict[str, list[str]]:
    return {
        s.name: s.cron_schedule if isinstance(s.cron_schedule, list) else [s.cron_schedule]
        for s in defs.get_repository_def().schedule_defs
    }


def test_no_minute_starts_more_than_three_scheduled_runs():
    starts = Counter(t for crons in schedules().values() for t in ticks(crons))
    busiest = max(starts.values())
    assert busiest <= 3, [(t.strftime("%H:%M"), n) for t, n in starts.most_common(5)]


def test_every_dataset_schedule_keeps_its_interval():
    by_job = {s.job_name: s for s in defs.get_repository_def().schedule_defs}
    for dataset in DATASETS.values():
        schedule = by_job[dataset.job_name]
        crons = schedule.cron_schedule if isinstance(schedule.cron_schedule, list) else [schedule.cron_schedule]
        times = ticks(crons, days=2)
        gaps = {int((b - a).total_seconds() // 60) for a, b in itertools.pairwise(times)}
        assert gaps == {dataset.cadence.minutes} if dataset.cadence.minutes < 24 * 60 else {24 * 60}, schedule.name


def test_offsets_are_derived_and_stay_within_the_step():
    jobs = {"a": (["*/5 * * * *"], 5), "b": (["*/5 * * * *"], 5), "c": (list(EVERY_45_MINUTES.crons), 15)}
    first = spread(jobs, fixed=[["0 * * * *"]])
    assert first == spread(jobs, fixed=[["0 * * * *"]])  # deterministic
    assert all(0 <= first[j] < jobs[j][1] for j in jobs)
    assert len({first["a"], first["b"]}) == 2 and first["a"] != 0 and first["b"] != 0  # away from the fixed :00
    assert shifted("45 0-21/3 * * *", 7) == "52 0-21/3 * * *" and shifted("*/10 * * * *", 3) == "3-59/10 * * * *"
    assert minutes_of_day(["3-59/10 * * * *"]) == {h * 60 + m for h in range(24) for m in range(3, 60, 10)}
