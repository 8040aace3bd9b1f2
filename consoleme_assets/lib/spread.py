"""Spreading the schedules over the hour: every cadence's cron fired at minute 0, so about 13 runs started at the
top of each hour (a CPU spike on a small machine, a queue of runs on any). Each job gets a minute offset within
its cadence's step (0-4 for every 5 minutes, 0-14 for every 45, 0-59 hourly), chosen so as few runs as possible
start in the same minute of the day, given the schedules that are fixed (a domain's own). Derived, deterministic
(jobs in a fixed order; ties to the smallest offset), not hand-written: a new dataset moves no other schedule's
job unless it must. Pure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

MINUTES_PER_DAY = 24 * 60
_FIELD = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")


def _values(field: str, low: int, high: int) -> list[int]:
    out: set[int] = set()
    for part in field.split(","):
        match = _FIELD.match(part)
        if not match:
            raise ValueError(f"cron field {field!r} is not a number, range or step this project writes")
        span, step = match.group(1), int(match.group(2) or 1)
        start, end = (low, high) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
        out.update(range(start, end + 1, step))
    return sorted(out)


def minutes_of_day(crons: Iterable[str]) -> set[int]:
    """The minutes of a day (0-1439) at which any of `crons` fires (crons with * in the day fields)."""
    out: set[int] = set()
    for cron in crons:
        minute, hour, *days = cron.split()
        if days != ["*", "*", "*"]:
            raise ValueError(f"cron {cron!r}: only every-day crons can be spread")
        out.update(h * 60 + m for h in _values(hour, 0, 23) for m in _values(minute, 0, 59))
    return out


def shifted(cron: str, offset: int) -> str:
    """`cron` fired `offset` minutes later (within its hour: the offset stays under the cadence's step)."""
    if not offset:
        return cron
    minute, rest = cron.split(" ", 1)
    match = _FIELD.match(minute)
    if not match or "," in minute:
        raise ValueError(f"cron {cron!r}: its minute field cannot be shifted")
    span, step = match.group(1), match.group(2)
    if span == "*":
        return f"{offset}-59/{step} {rest}" if step else cron
    if "-" in span:
        a, b = (int(x) for x in span.split("-"))
        span = f"{a + offset}-{b + offset}"
    else:
        span = str(int(span) + offset)
    return f"{span}{'/' + step if step else ''} {rest}"


def spread(jobs: Mapping[str, tuple[Sequence[str], int]], fixed: Iterable[Sequence[str]] = ()) -> dict[str, int]:
    """{job: offset}: `jobs` maps a job to (its crons, its step in minutes); `fixed` are other schedules' crons.
    Jobs that fire most often are placed first (they have the fewest choices); each takes the offset that keeps
    the busiest minute of the day least busy, then the fewest starts shared, then the smallest offset."""
    load: Counter[int] = Counter()
    for crons in fixed:
        load.update(minutes_of_day(crons))
    order = sorted(jobs, key=lambda j: (-len(minutes_of_day(jobs[j][0])), j))
    out: dict[str, int] = {}
    for job in order:
        crons, step = jobs[job]
        best = None
        for offset in range(max(1, step)):
            minutes = minutes_of_day(shifted(c, offset) for c in crons)
            score = (max((load[m] for m in minutes), default=0), sum(load[m] for m in minutes), offset)
            if best is None or score < best[0]:
                best = (score, offset, minutes)
        assert best is not None
        out[job] = best[1]
        load.update(best[2])
    return out


def busiest_minute(crons: Iterable[Sequence[str]]) -> int:
    """How many of these schedules start in the busiest minute of a day."""
    load: Counter[int] = Counter()
    for c in crons:
        load.update(minutes_of_day(c))
    return max(load.values(), default=0)
