"""Local moto and Redis servers on loopback ports, for the test suite and the sandbox.

moto runs as a child process (``moto_process``) and redis-server as the Debian binary, each in its own
session so ``stop()`` can signal the whole process group; fakeredis's TCP server (in a thread) stands in
when redis-server is missing. Child output goes to a log file, never a pipe: an unread pipe fills up and
blocks the server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import redis

# free_port, LOOPBACK and ServerStartError are imported from here too.
from .processes import (  # noqa: F401
    DIRECT_OPENER,
    LOOPBACK,
    ChildServer,
    PortTaken,
    ServerStartError,
    die_with_this_process,
    free_port,
    http_answers,
    wait_until_ready,
    with_port_retries,
)

RedisKind = Literal["auto", "redis-server", "fakeredis"]


class MotoServer:
    """A moto server child process; see :func:`start_moto_server`."""

    def __init__(self, child: ChildServer, workdir: tempfile.TemporaryDirectory[str], host: str, port: int):
        self._child = child
        self._workdir = workdir
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        atexit.register(self.stop)

    @property
    def pid(self) -> int:
        return self._child.pid

    @property
    def log_path(self) -> Path:
        return self._child.log_path

    def reset(self) -> None:
        """Drop every resource in every account (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        try:
            DIRECT_OPENER.open(request, timeout=30).close()
        except OSError as exc:
            raise RuntimeError(f"resetting moto at {self.url} failed: {exc}") from exc

    def snapshot(self, name: str) -> None:
        """Keep a copy of everything moto holds now under ``name`` (see moto_process.StateSnapshots)."""
        self._post(f"/moto-api/consoleme/snapshot/{name}")

    def restore(self, name: str) -> None:
        """Replace everything moto holds with the snapshot ``name`` (which stays available)."""
        self._post(f"/moto-api/consoleme/restore/{name}")

    def _post(self, path: str) -> None:
        request = urllib.request.Request(f"{self.url}{path}", data=b"", method="POST")
        try:
            DIRECT_OPENER.open(request, timeout=60).close()
        except OSError as exc:
            raise RuntimeError(f"POST {path} to moto at {self.url} failed: {exc}") from exc

    def stop(self) -> None:
        """Stop the process group and remove its log directory (idempotent)."""
        atexit.unregister(self.stop)
        self._child.stop()
        self._workdir.cleanup()

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MotoServer(url={self.url!r}, pid={self.pid})"


def _moto_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MOTO_ACCOUNT_ID", None)  # it would pin every request to one account
    env["MOTO_PORT"] = str(port)
    # The child must import this package even when the caller found it through its working directory.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def start_moto_server(port: int | None = None, host: str = LOOPBACK, *, timeout: float = 30.0) -> MotoServer:
    """Start moto (with the sandbox patches of ``moto_process``) in a child process and wait for it.

    ``port=None`` picks a free port. Raises :class:`ServerStartError` with the child's log tail if it
    exits or does not answer HTTP within ``timeout`` seconds.
    """

    def start(p: int) -> MotoServer:
        workdir = tempfile.TemporaryDirectory(prefix="consoleme-moto-")
        argv = [
            sys.executable,
            "-m",
            "consoleme_assets.sandbox.moto_process",
            "--host",
            host,
            "--port",
            str(p),
            "--parent-pid",
            str(os.getpid()),
        ]
        child = ChildServer("moto", argv, Path(workdir.name), env=_moto_env(p))
        try:
            wait_until_ready(
                child, lambda: http_answers(f"http://{host}:{p}/moto-api/"), timeout, f"moto server on {host}:{p}"
            )
        except BaseException:
            child.stop()
            workdir.cleanup()
            raise
        return MotoServer(child, workdir, host, p)

    return with_port_retries(port, start)


class RedisServer:
    """A Redis for tests and the sandbox; see :func:`start_redis_server`."""

    def __init__(self, kind: str, port: int, password: str | None, stop: Callable[[], None], pid: int | None = None):
        self.kind = kind
        self.port = port
        self.password = password
        self.pid = pid  # None for fakeredis, which runs in this process
        auth = f":{urllib.parse.quote(password, safe='')}@" if password else ""
        self.url = f"redis://{auth}{LOOPBACK}:{port}/0"
        self._stop = stop
        self._stopped = False
        atexit.register(self.stop)

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        self._stop()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RedisServer(kind={self.kind!r}, port={self.port}, pid={self.pid})"


def _redis_pings(port: int, password: str | None) -> bool:
    # retry=None: redis-py 8 otherwise retries refused connections with a backoff of seconds.
    client = redis.Redis(
        host=LOOPBACK, port=port, password=password, retry=None, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    try:
        return bool(client.ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return False
    finally:
        client.close()


def quote_redis_conf(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a Redis password cannot contain line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _start_redis_binary(binary: str, port: int, password: str | None, timeout: float) -> RedisServer:
    workdir = tempfile.TemporaryDirectory(prefix="consoleme-redis-")
    conf = Path(workdir.name) / "redis.conf"
    # A config file keeps the password out of `ps`; no persistence, loopback only.
    lines = [
        f"port {port}",
        f"bind {LOOPBACK}",
        'save ""',
        "appendonly no",
        f"dir {quote_redis_conf(workdir.name)}",
        "daemonize no",
        'logfile ""',
    ]
    if password:
        lines.append(f"requirepass {quote_redis_conf(password)}")
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o600)
    child = ChildServer("redis-server", [binary, str(conf)], Path(workdir.name))
    try:
        wait_until_ready(
            child, lambda: _redis_pings(port, password), timeout, f"redis-server ({binary}) on {LOOPBACK}:{port}"
        )
    except BaseException:
        child.stop()
        workdir.cleanup()
        raise

    def stop() -> None:
        child.stop()
        workdir.cleanup()

    return RedisServer("redis-server", port, password, stop, pid=child.pid)


def _start_fakeredis(port: int | None, password: str | None, timeout: float) -> RedisServer:
    try:
        from fakeredis import TcpFakeServer
    except ImportError as exc:
        raise ServerStartError(
            "no Redis available: redis-server is not on PATH and fakeredis is not installed "
            "(apt-get install redis-server, or pip install fakeredis==2.40.0)"
        ) from exc
    try:
        server = TcpFakeServer((LOOPBACK, port or 0))
    except OSError as exc:
        raise ServerStartError(f"fakeredis could not listen on {LOOPBACK}:{port or 0}: {exc}") from exc
    if password:
        server.fake_server.config[b"requirepass"] = password.encode()
        warnings.warn(
            "fakeredis 2.40 does not enforce requirepass: clients without the password are accepted",
            stacklevel=3,
        )
    actual_port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name=f"fakeredis-{actual_port}", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    deadline = time.monotonic() + timeout
    while not _redis_pings(actual_port, password):
        if time.monotonic() > deadline:
            stop()
            raise ServerStartError(f"fakeredis on {LOOPBACK}:{actual_port} did not answer PING")
        time.sleep(0.05)
    return RedisServer("fakeredis", actual_port, password, stop)


def start_redis_server(
    port: int | None = None,
    password: str | None = None,
    *,
    kind: RedisKind = "auto",
    timeout: float = 15.0,
) -> RedisServer:
    """Start a Redis on 127.0.0.1 and wait until it answers PING.

    ``kind="auto"`` runs ``redis-server`` from PATH (no persistence, own temp dir and process group)
    and falls back to fakeredis's TCP server in a thread; ``"redis-server"`` or ``"fakeredis"`` insists
    on one. ``port=None`` picks a free port. Raises :class:`ServerStartError` if it cannot start.
    """
    if kind not in ("auto", "redis-server", "fakeredis"):
        raise ValueError(f"kind must be 'auto', 'redis-server' or 'fakeredis', not {kind!r}")
    binary = shutil.which("redis-server") if kind != "fakeredis" else None
    if kind == "redis-server" and binary is None:
        raise ServerStartError(
            "redis-server is not on PATH (Debian/Ubuntu: apt-get install redis-server); "
            f"PATH={os.environ.get('PATH', '')}"
        )
    if binary is None:
        return _start_fakeredis(port, password, timeout)
    return with_port_retries(port, lambda p: _start_redis_binary(binary, p, password, timeout))
