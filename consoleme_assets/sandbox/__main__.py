"""``python -m consoleme_assets.sandbox``: moto + Redis + the seeded demo organisation, until stopped.

Starts moto (and a Redis unless ``REDIS_URL`` is already set), seeds the demo org, then writes a shell
env file (``export`` lines) pointing boto3, redis-py and consoleme-assets at them. ``make dev`` waits for
that file, sources it and runs ``dagster dev``. The file is removed at start-up and on exit, so its
presence means "the sandbox is up". SIGTERM or SIGINT stops the children and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from consoleme_assets.sandbox import SANDBOX_CONFIG
from consoleme_assets.sandbox.seed import DemoOrg, seed_demo_org
from consoleme_assets.sandbox.servers import ServerStartError, start_moto_server, start_redis_server
from consoleme_assets.settings.redis_url import redact_url

DEFAULT_ENV_FILE = Path(".sandbox/env")
CONFIG_PATH = SANDBOX_CONFIG


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def sandbox_env(moto_url: str, redis_url: str, region: str = "us-east-1") -> dict[str, str]:
    """The environment a process needs to use the sandbox."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,  # ConsoleMe reads AWS_REGION before AWS_DEFAULT_REGION
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "REDIS_URL": redis_url,
        "CONSOLEME_ASSETS_CONFIG": str(CONFIG_PATH),
    }


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write ``export`` lines atomically, so a reader never sources half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# written by python -m consoleme_assets.sandbox; removed when it stops",
        "unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN",
    ]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)


def _summary(demo: DemoOrg, moto_url: str, redis_line: str, env_file: Path, seed_seconds: float) -> str:
    rows = [
        f"    {account_id}  {name:<14} active" + (" (management)" if account_id == demo.management_account_id else "")
        for account_id, name in demo.accounts.items()
    ]
    rows += [f"    {account_id}  {name:<14} closed" for account_id, name in demo.closed_accounts.items()]
    return "\n".join(
        [
            f"consoleme sandbox ready (demo org seeded in {seed_seconds:.1f} s)",
            f"  moto:    {moto_url}",
            f"  redis:   {redis_line}",
            f"  config:  {CONFIG_PATH}",
            f"  env:     {env_file}   (. {env_file})",
            "  accounts:",
            *rows,
            "stop with Ctrl-C or SIGTERM",
        ]
    )


def run_sandbox(
    moto_port: int | None = None,
    redis_port: int | None = None,
    env_file: Path | str = DEFAULT_ENV_FILE,
    *,
    out: TextIO = sys.stdout,
) -> int:
    """Run the sandbox in the foreground until SIGTERM/SIGINT; returns the exit code (0).

    Must run in the main thread (it installs signal handlers). Raises :class:`ServerStartError` if moto
    or Redis cannot start; children started so far are stopped either way.
    """
    env_path = Path(env_file).resolve()
    env_path.unlink(missing_ok=True)  # a stale file must not look like a ready sandbox
    previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    children = contextlib.ExitStack()  # stops whatever did start, even if one stop fails
    try:
        moto = children.enter_context(start_moto_server(moto_port))
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            redis_line = f"{redact_url(redis_url)} (from REDIS_URL)"
        else:
            redis_server = children.enter_context(start_redis_server(redis_port))
            redis_url = redis_server.url
            redis_line = f"{redis_url} ({redis_server.kind})"
        started = time.perf_counter()
        demo = seed_demo_org(moto.url)
        seed_seconds = time.perf_counter() - started
        children.callback(env_path.unlink, missing_ok=True)  # first thing undone on the way out
        write_env_file(env_path, sandbox_env(moto.url, redis_url, demo.region))
        print(_summary(demo, moto.url, redis_line, env_path, seed_seconds), file=out, flush=True)
        while True:
            signal.pause()
    except _Stop:
        pass
    finally:
        for signum in previous:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        try:
            children.close()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    print("consoleme sandbox stopped", file=out, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consoleme_assets.sandbox",
        description="Run moto and Redis with the seeded demo organisation until SIGTERM/SIGINT.",
    )
    parser.add_argument("--moto-port", type=int, default=None, help="default: a free port")
    parser.add_argument("--redis-port", type=int, default=None, help="default: a free port (ignored with REDIS_URL)")
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE, help=f"default: {DEFAULT_ENV_FILE}")
    args = parser.parse_args(argv)
    try:
        return run_sandbox(args.moto_port, args.redis_port, args.env_file)
    except ServerStartError as exc:
        print(f"consoleme sandbox could not start: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
