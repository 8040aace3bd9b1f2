"""Processes for the end-to-end tests: the sandbox, ``dagster dev``, a throwaway PostgreSQL, and GraphQL.

Every process is started in its own session (so its process group is its pid), with SIGINT/SIGTERM reset to
their defaults and no blocked signals (a parent that ignores them, e.g. a CI shell, would otherwise make
``dagster dev`` ignore them too). Stopping signals the whole group, then SIGKILLs what is left, and
:func:`assert_no_orphans` checks that no process of the session, and no descendant seen while it ran,
survives. Output goes to log files whose tail ends every failure message.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.proc import tree_cpu_seconds
from consoleme_assets.sandbox.servers import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _reset_signals() -> None:  # runs in the child between fork and exec
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgid, sid) of a live, non-zombie process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2]), int(fields[3])


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> set[int]:
    """Live descendants of ``root`` (by parent links), not including it."""
    parents = {pid: stat[0] for pid in _all_pids() if (stat := _proc_stat(pid))}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


class Service:
    """One command in its own session, output in ``<log_dir>/<name>.log``."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str], cwd: Path = REPO):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.seen: set[int] = set()
        self.killed = False  # True when stop() had to SIGKILL the group
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_reset_signals,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").rstrip()
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def remember_children(self) -> None:
        """Record the current descendants, so orphans that leave the session are still caught."""
        self.seen |= descendants(self.pid)

    def session_members(self) -> set[int]:
        return {pid for pid in _all_pids() if (stat := _proc_stat(pid)) and stat[2] == self.pid}

    def survivors(self) -> set[int]:
        return {pid for pid in self.seen | self.session_members() if _proc_stat(pid) is not None}

    def stop(self, grace: float = 60.0) -> float:
        """SIGTERM the leader, then the group, and wait; SIGKILL what is left after ``grace``. Returns seconds
        to exit.

        The leader first: `dagster dev` (and the daemon) shut their own children down in order. Signalled at the
        same moment, the code server exits first and `dagster dev` restarts it; the new one then waits 45 s for a
        heartbeat before it exits (seen in CI: a 50-s stop with a screen of sensor tracebacks). The group
        second: what the leader leaves behind (a run in flight) ends as a terminal's Ctrl-C would end it."""
        self.remember_children()
        started = time.monotonic()
        cpu = None
        if self.running():
            cpu = tree_cpu_seconds(self.pid)
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(min(grace, 30.0))
            except subprocess.TimeoutExpired:
                pass
            self.remember_children()
            self._killpg(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.killed = True
                self._killpg(signal.SIGKILL)
                self.proc.wait(30)
        deadline = time.monotonic() + grace
        while self.survivors() and time.monotonic() < deadline:  # children still shutting down
            time.sleep(0.2)
        if cpu is not None:  # after the exit: a live service writes over what is appended to its log
            with open(self.log_path, "a") as log:
                log.write(
                    f"\n[harness] {self.name}: {cpu:.1f} CPU s before stop, stopped in "
                    f"{time.monotonic() - started:.1f} s\n"
                )
        return time.monotonic() - started

    def kill_survivors(self) -> None:
        for pid in self.survivors():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _killpg(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass


def assert_no_orphans(*services: Service) -> None:
    left = {s.name: sorted(s.survivors()) for s in services}
    left = {name: pids for name, pids in left.items() if pids}
    if left:
        detail = {name: [_cmdline(pid) for pid in pids] for name, pids in left.items()}
        for service in services:
            service.kill_survivors()
        raise AssertionError(f"processes left running after stop (now SIGKILLed): {detail}")


def _cmdline(pid: int) -> str:
    try:
        return f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return f"{pid}: (gone)"


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, *, logs: tuple[Service, ...] = (), interval: float = 1.0
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` with the services' log tails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        for service in logs:
            if not service.running():
                raise AssertionError(
                    f"{service.name} exited with {service.proc.returncode} while waiting for {what}\n"
                    f"--- tail of {service.log_path} ---\n{service.log_tail()}"
                )
        try:
            last = check()
        except AssertionError:  # a definite failure found by the check: stop polling
            raise
        except Exception as exc:  # keep polling: the server may be starting or reloading
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- tail of {s.log_path} ---\n{s.log_tail()}" for s in logs)
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}\n{tails}")
        time.sleep(interval)


# --- the sandbox --------------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    drop = (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "REDIS_URL",
        "DAGSTER_HOME",
        "CONSOLEME_ASSETS_CONFIG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("PYTEST_", "AWS_ENDPOINT_URL"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def read_env_file(path: Path) -> dict[str, str]:
    import shlex

    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def start_sandbox(work: Path) -> tuple[Service, dict[str, str]]:
    """``python -m consoleme_assets.sandbox``; returns it and the environment it wrote."""
    env_file = work / "sandbox.env"
    sandbox = Service(
        "sandbox", [sys.executable, "-m", "consoleme_assets.sandbox", "--env-file", str(env_file)], work, base_env()
    )
    try:
        wait_for("the sandbox's env file", env_file.exists, 180, logs=(sandbox,), interval=0.25)
    except BaseException:
        sandbox.stop()
        raise
    sandbox.remember_children()
    return sandbox, read_env_file(env_file)


# --- dagster dev ---------------------------------------------------------------------------------------------


def make_variable(name: str) -> str:
    """A `NAME := value` line of the Makefile (what `make dev` passes), so the harness cannot drift from it."""
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith(f"{name} :="):
            return line.split(":=", 1)[1].strip()
    raise KeyError(f"Makefile has no {name} := line")


class DagsterDev(Service):
    def __init__(self, dagster_home: Path, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dagster_home = dagster_home
        argv = [
            str(BIN / "dagster"),
            "dev",
            "--log-level",
            "warning",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-w",
            str(REPO / "workspace.yaml"),
        ]
        # As `make dev` starts it: in DAGSTER_HOME, Dagster's supersession notice filtered (Makefile, DEV_WARNINGS).
        env = {**env, "DAGSTER_HOME": str(dagster_home), "PYTHONWARNINGS": make_variable("DEV_WARNINGS")}
        super().__init__("dagster-dev", argv, log_dir, env, cwd=dagster_home)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        try:
            with _DIRECT.open(request, timeout=timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # GraphQL validation errors come back as HTTP 500 with a body
            raise GraphQLError(f"HTTP {exc.code}: {exc.read().decode(errors='replace')[:3000]}") from None
        if payload.get("errors"):
            raise GraphQLError(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
        return payload["data"]

    def wait_ready(self, timeout: float = 300) -> None:
        """Webserver answers, the code location is loaded, and the daemon reports healthy."""
        wait_for(
            "the webserver to answer GraphQL", lambda: self.graphql("{ version }")["version"], timeout, logs=(self,)
        )
        wait_for("the consoleme_assets code location to load", self._location_loaded, timeout, logs=(self,))
        wait_for("the daemon's heartbeats", self._daemons_healthy, timeout, logs=(self,), interval=2)
        self.remember_children()

    def _location_loaded(self) -> bool:
        data = self.graphql(
            "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus"
            " locationOrLoadError { __typename ... on PythonError { message } } } } } }"
        )
        entries = data["workspaceOrError"]["locationEntries"]
        for entry in entries:
            error = entry["locationOrLoadError"]
            if error and error["__typename"] == "PythonError":
                raise AssertionError(f"code location {entry['name']} failed to load: {error['message']}")
        return any(e["name"] == "consoleme_assets" and e["loadStatus"] == "LOADED" for e in entries)

    def _daemons_healthy(self) -> bool:
        data = self.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }")
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        required = [s for s in statuses if s["required"]]
        return bool(required) and all(s["healthy"] for s in required)


class GraphQLError(RuntimeError):
    pass


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Debian's server binaries (``/usr/lib/postgresql/<major>/bin``), newest first, else ``pg_config``'s."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (bindir / "postgres").exists():
            return bindir
    return None


class PostgresServer:
    """A throwaway cluster: ``initdb`` into a temp dir and ``postgres`` on a free loopback port.

    PostgreSQL refuses to run as root, so as root both run as the ``postgres`` user (created by Debian's
    package) through ``runuser``; the data directory is handed to that user. Password auth (scram) on TCP.
    """

    USER, PASSWORD, DB = "dagster", "e2e-secret", "dagster"

    def __init__(self, log_dir: Path):
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are private to root and the postgres user must reach it.
        self.work = work = Path(tempfile.mkdtemp(prefix="consoleme-e2e-pg-"))
        self.data = work / "pgdata"
        self.sockets = work / "pgsock"
        self.sockets.mkdir()
        as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (work, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        pwfile = work / "pwfile"
        pwfile.write_text(self.PASSWORD + "\n")
        if as_user:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        init = subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            cwd=work,
        )
        if init.returncode:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.service = Service(
            "postgres",
            [
                *as_user,
                str(bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.sockets),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            log_dir,
            env,
            cwd=work,
        )
        try:
            wait_for("PostgreSQL to accept connections", self._ready, 120, logs=(self.service,), interval=0.5)
        except BaseException:
            self.stop()
            raise
        self.service.remember_children()

    def _ready(self) -> bool:
        import psycopg2

        psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.USER,
            password=self.PASSWORD,
            dbname="postgres",
            connect_timeout=3,
        ).close()
        return True

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=self.USER, password=self.PASSWORD, dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()

    def env(self, db_name: str) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.USER,
            "DAGSTER_PG_PASSWORD": self.PASSWORD,
            "DAGSTER_PG_DB": db_name,
        }

    def stop(self) -> None:
        # postgres exits on SIGTERM ("smart" shutdown waits for clients; SIGINT is "fast").
        if self.service.running():
            self.service.remember_children()
            try:
                os.killpg(self.service.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        self.service.stop(grace=60)
        if not self.service.survivors():
            shutil.rmtree(self.work, ignore_errors=True)


# --- the production split: webserver and daemon as separate processes on one DAGSTER_HOME -------------------


class DagsterWebserver(DagsterDev):
    """``dagster-webserver`` alone (the UI and GraphQL); schedules, sensors, backfills and the run queue need a
    :class:`DagsterDaemon` on the same ``DAGSTER_HOME``. GraphQL helpers as for ``dagster dev``."""

    def __init__(self, dagster_home: Path, env: dict[str, str], log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dagster_home = dagster_home
        argv = [
            str(BIN / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-w",
            str(REPO / "workspace.yaml"),
        ]
        Service.__init__(self, "dagster-webserver", argv, log_dir, {**env, "DAGSTER_HOME": str(dagster_home)})

    def wait_serving(self, timeout: float = 300) -> None:
        """GraphQL answers and the code location is loaded (daemon health is the daemon's business)."""
        wait_for(
            "the webserver to answer GraphQL", lambda: self.graphql("{ version }")["version"], timeout, logs=(self,)
        )
        wait_for("the consoleme_assets code location to load", self._location_loaded, timeout, logs=(self,))
        self.remember_children()

    def daemons_healthy(self) -> bool:
        return self._daemons_healthy()


class DagsterDaemon(Service):
    """``dagster-daemon run``: can be stopped and started again while the webserver stays up. ``name`` tells
    the incarnations' log files apart."""

    def __init__(self, dagster_home: Path, env: dict[str, str], log_dir: Path, name: str = "dagster-daemon"):
        argv = [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")]
        super().__init__(name, argv, log_dir, {**env, "DAGSTER_HOME": str(dagster_home)})
