"""benchmarks/proc.py on real processes: children started from any thread, reaped children's CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from benchmarks.proc import cpu_seconds, tree, tree_cpu_seconds, tree_rss_bytes

# A parent whose child comes from a second thread, after it burnt some CPU in a reaped child of its own.
PARENT = """
import subprocess, sys, threading, time
subprocess.run([sys.executable, "-c", "sum(range(3 * 10**7))"])
threading.Thread(target=lambda: subprocess.run(["sleep", "5"])).start()
print("ready", flush=True)
time.sleep(5)
"""


def test_tree_follows_thread_children_and_counts_reaped_cpu() -> None:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 5
        while len(tree(proc.pid)) < 2 and time.monotonic() < deadline:  # the thread's `sleep` is starting
            time.sleep(0.05)
        pids = tree(proc.pid)
        assert pids[0] == proc.pid and len(pids) == 2, pids  # the parent and the `sleep` its thread started
        # The reaped child's CPU counts in the tree, not in the parent's own utime + stime.
        assert tree_cpu_seconds(proc.pid) > cpu_seconds(proc.pid) + 0.2
        assert tree_rss_bytes(proc.pid) > tree_rss_bytes(pids[1]) > 0
    finally:
        for pid in tree(proc.pid)[1:]:  # no orphaned `sleep`
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
    assert cpu_seconds(proc.pid) == 0.0 and tree(proc.pid) == [proc.pid]  # gone: nothing to read
