"""A process tree's CPU and memory, read from /proc (Linux): shared by the benchmarks, the suite's CPU plugin and
the e2e harness.

Children are followed through every thread's `task/<tid>/children`: Dagster and pytest-xdist start
subprocesses from threads other than the main one, which `/proc/<pid>/task/<pid>/children` alone misses.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> list[int]:
    """The live children of `pid`, started from any of its threads."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # exited
        return found
    for tid in tasks:
        try:
            found.extend(int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return found


def tree(root: int) -> list[int]:
    """`root` and its live descendants."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children(pid))
    return pids


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """utime + stime of `pid` (with `reaped`: plus the children it has waited for, cutime + cstime)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return sum(int(f) for f in fields[11 : 15 if reaped else 13]) / _TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by `root` and its live descendants, each with the children it has reaped."""
    return sum(cpu_seconds(pid, reaped=True) for pid in tree(root))


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and its live descendants."""
    total = 0
    for pid in tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except OSError:
            continue
    return total
