"""The moto/Redis server helpers and ``python -m consoleme_assets.sandbox``, as real processes."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import redis

from consoleme_assets.sandbox import (
    MotoServer,
    RedisServer,
    ServerStartError,
    free_port,
    start_moto_server,
    start_redis_server,
)


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_moto_fixture_starts_each_test_empty(moto: MotoServer) -> None:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="reset-me")
    moto.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_moto_server_stop_ends_its_process() -> None:
    with start_moto_server() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        sts = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert sts.get_caller_identity()["Account"] == "123456789012"
        pid, log_dir = server.pid, server.log_path.parent
    assert not _alive(pid)
    assert _refuses(server.port)
    assert not log_dir.exists()


def test_moto_on_a_taken_port_fails_with_its_log() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServerStartError, match=rf"moto server on 127\.0\.0\.1:{port}(.|\n)*Address already in use"):
            start_moto_server(port=port)


def test_redis_fixture_is_the_real_redis_server(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    assert redis_server.kind == "redis-server"
    assert redis_client.ping()
    redis_client.set("greeting", "hello")
    assert redis_client.get("greeting") == "hello"
    assert redis_client.info("server")["redis_version"]
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"


def test_redis_password_is_required() -> None:
    with start_redis_server(password="s3 cr:et", kind="redis-server") as server:
        # retry=None: redis-py 8 retries AuthenticationError (a ConnectionError) for seconds by default.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, retry=None).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, password="wrong", retry=None).ping()
        assert server.client().ping()  # the URL carries the (quoted) password
        pid = server.pid
    assert pid is not None and not _alive(pid)
    assert _refuses(server.port)


def test_missing_redis_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerStartError, match="redis-server is not on PATH"):
        start_redis_server(kind="redis-server")


def test_fakeredis_stands_in_without_redis_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with start_redis_server() as server:
        assert (server.kind, server.pid) == ("fakeredis", None)
        client = server.client(decode_responses=True)
        client.hset("S3_BUCKETS", "123456789012", '["a"]')
        assert client.hgetall("S3_BUCKETS") == {"123456789012": '["a"]'}
        client.close()
    assert _refuses(server.port)


def test_sandbox_main_writes_env_file_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox" / "env"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    log = tmp_path / "sandbox.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "consoleme_assets.sandbox", "--env-file", str(env_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists():
            assert proc.poll() is None, f"sandbox exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no env file after 60 s:\n{log.read_text()}"
            time.sleep(0.1)
        exports = dict(
            shlex.split(line)[1].split("=", 1)
            for line in env_file.read_text().splitlines()
            if line.startswith("export ")
        )
        assert {
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "REDIS_URL",
            "CONSOLEME_ASSETS_CONFIG",
        } <= exports.keys()
        config = Path(exports["CONSOLEME_ASSETS_CONFIG"])
        assert config.is_absolute() and config.name == "sandbox.yaml" and config.is_file()
        assert "127.0.0.1" not in config.read_text()  # endpoints come from the env, not the config

        organizations = boto3.client(
            "organizations",
            region_name=exports["AWS_DEFAULT_REGION"],
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert len(organizations.list_accounts()["Accounts"]) == 5  # management + 3 members + closed
        assert redis.Redis.from_url(exports["REDIS_URL"]).ping()
        assert "demo-prod" in log.read_text()

        children = _children(proc.pid)
        assert len(children) == 2, f"expected moto and redis-server under the sandbox, got {children}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert not env_file.exists()
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_servers_die_with_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "from consoleme_assets.sandbox import start_moto_server, start_redis_server\n"
        "import time\n"
        "moto, cache = start_moto_server(), start_redis_server(kind='redis-server')\n"
        "print(moto.pid, cache.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    pids: list[int] = []
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        parent.kill()  # SIGKILL: no atexit, no finalizers
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_aws_env_points_default_clients_at_the_servers(aws_env: dict[str, str], moto: MotoServer) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == moto.url and "AWS_PROFILE" not in os.environ
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert redis.Redis.from_url(aws_env["REDIS_URL"]).ping()
