"""Child server processes on loopback: start one in its own session with its output in a log file, wait until it
answers, retry when the free port was taken meanwhile, stop its whole process group. Used by servers.py (moto,
redis-server) and by the tests' own services."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"

# A port from free_port() can be taken by someone else before the child binds it; retry that case.
_PORT_ATTEMPTS = 3
# Loopback servers must never be reached through an HTTP(S)_PROXY from the environment.
DIRECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerStartError(RuntimeError):
    """A local server did not come up; the message names it and ends with its log tail."""


class PortTaken(ServerStartError):
    pass


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now (another process may still take it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def die_with_this_process() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this process dies, even by SIGKILL.

    Linux only (prctl PR_SET_PDEATHSIG), and only from the main thread: the kernel sends the signal
    when the *thread* that forked the child exits.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent, pr_set_pdeathsig, sigterm = os.getpid(), 1, int(signal.SIGTERM)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigterm)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class ChildServer:
    """A server process in its own session, with stdout and stderr in ``<workdir>/<name>.log``."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_this_process(),
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip()
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds, and reap the leader."""
        if self.proc.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(grace)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)  # start_new_session: the group id is the child's pid
        except ProcessLookupError:
            pass


def wait_until_ready(child: ChildServer, probe: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not child.running():
            tail = child.log_tail()
            error = PortTaken if "Address already in use" in tail else ServerStartError
            raise error(
                f"{what} exited with code {child.proc.returncode} before answering.\n"
                f"--- last lines of its output ---\n{tail}"
            )
        if probe():
            return
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{what} (pid {child.pid}) did not answer within {timeout:.0f}s.\n"
                f"--- last lines of its output ---\n{child.log_tail()}"
            )
        time.sleep(0.05)


def with_port_retries(port: int | None, start: Callable[[int], Any]) -> Any:
    attempts = 1 if port is not None else _PORT_ATTEMPTS
    for attempt in range(attempts):
        try:
            return start(port if port is not None else free_port())
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def http_answers(url: str) -> bool:
    try:
        DIRECT_OPENER.open(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is serving
    except OSError:
        return False
    return True
