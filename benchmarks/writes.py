"""Issue 22 benchmark: what a refresh writes when nothing changed, and when 1% of the roles changed.

    .venv/bin/python -m benchmarks.writes --accounts 1000 --roles 50 --out /tmp/writes
    .venv/bin/python -m benchmarks.writes --accounts 1000 --roles 50 --code /path/to/older/checkout   # "before"

A seeded moto (`benchmarks.moto_seeded`) behind a counting proxy (the fault tests' proxy, which sees every AWS
call the refresh makes: S3 PUTs, and DynamoDB items in BatchWriteItem bodies), and a Redis whose MONITOR stream
counts the hash fields written (HSET, by key: ConsoleMe's caches apart from our own bookkeeping and the
LAST_UPDATED stamps). Then `consoleme-assets refresh --select iam_resources` (as a user runs it) three times:
the first fills the caches; the second changes nothing; before the third, 1% of the roles get a new inline
policy (through moto, as AWS would). Each: wall and CPU seconds, Redis fields written and deleted, DynamoDB
items written and deleted, S3 PUTs. `--code` runs the CLI from another checkout, for the figures
of the code before this change. Prints one line per figure and writes writes.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from consoleme_assets.sandbox.servers import start_redis_server
from consoleme_assets_tests.faults.proxy import FaultProxy

from .run import BENCH_CONFIG, SeededMoto, aws_env, run_measured

_ARG = re.compile(rb'"((?:\\.|[^"\\])*)"')  # MONITOR quotes every argument
OUR_KEYS = ("consoleme_assets:", "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED")


class CountingProxy(FaultProxy):
    """The fault proxy, also counting DynamoDB items put and deleted (inside BatchWriteItem and single calls)."""

    def __init__(self, upstream: str):
        super().__init__(upstream)
        self.items: Counter[str] = Counter()

    def _identify(self, method, path, headers, body):  # noqa: ANN001 - the proxy's own signature
        call, protocol = super()._identify(method, path, headers, body)
        if call.service == "dynamodb" and call.action in ("BatchWriteItem", "PutItem", "DeleteItem"):
            doc = json.loads(body or b"{}")
            with self._lock:
                for requests in (doc.get("RequestItems") or {}).values():
                    for request in requests:
                        self.items["put" if "PutRequest" in request else "delete"] += 1
                if call.action == "PutItem":
                    self.items["put"] += 1
                elif call.action == "DeleteItem":
                    self.items["delete"] += 1
        return call, protocol

    def take(self) -> dict[str, int]:
        with self._lock:
            calls, items = list(self.calls), dict(self.items)
            self.calls.clear()
            self.items.clear()
        return {
            "s3_puts": sum(1 for c in calls if c.service == "s3" and c.action == "PutObject"),
            "dynamodb_items_written": items.get("put", 0),
            "dynamodb_items_deleted": items.get("delete", 0),
            "aws_calls": len(calls),
        }


class RedisWrites:
    """Counts hash fields written and deleted, from MONITOR read off a raw socket (redis-py's parser drops the
    quoting that tells one argument from the next, and JSON values hold spaces)."""

    def __init__(self, url: str):
        self.counts: Counter[str] = Counter()
        self.by_key: Counter[str] = Counter()
        parsed = urlsplit(url)
        self._sock = socket.create_connection((parsed.hostname, parsed.port or 6379))
        self._sock.sendall(b"MONITOR\r\n")
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            for line in lines:
                self._count([a.decode("utf-8", "replace") for a in _ARG.findall(line)])

    def _count(self, args: list[str]) -> None:
        if len(args) < 3:
            return
        verb, key = args[0].upper(), args[1]
        ours = key.startswith(OUR_KEYS)
        with self._lock:
            if verb == "HSET":
                fields = (len(args) - 2) // 2
                self.counts["stamps" if ours else "fields_written"] += fields
                if not ours:
                    self.by_key[key] += fields
            elif verb == "HDEL" and not ours:
                self.counts["fields_deleted"] += len(args) - 2
            elif verb == "SET" and not ours:
                self.counts["strings_written"] += 1

    def take(self) -> dict[str, int]:
        time.sleep(0.5)  # MONITOR trails the commands a little
        with self._lock:
            out: dict[str, Any] = {f"redis_{k}": v for k, v in self.counts.items()}
            if self.by_key:
                out["redis_fields_by_key"] = dict(self.by_key)
            self.counts.clear()
            self.by_key.clear()
        return out

    def stop(self) -> None:
        self._sock.close()


def change_roles(moto_url: str, manifest: dict[str, Any], share: float) -> list[str]:
    """Give `share` of the seeded roles a new inline policy, through moto as AWS would; returns their ARNs."""
    accounts = manifest["accounts"]
    roles_per_account = manifest["roles_per_account"] - 2  # the seeded bench-role-NNNN (not the two fixed ones)
    total = len(accounts) * manifest["roles_per_account"]
    wanted = max(1, round(total * share))
    changed = []
    aws = dict(
        endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    for i in range(wanted):
        account = accounts[i % len(accounts)]  # spread over the accounts
        creds = boto3.client("sts", **aws).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/ConsoleMe", RoleSessionName="bench"
        )["Credentials"]
        iam = boto3.client(
            "iam",
            endpoint_url=moto_url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        name = f"bench-role-{(i // len(accounts)) % roles_per_account:04d}"
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Bench", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bench-{i}/*"}
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="bench-change", PolicyDocument=json.dumps(document))
        changed.append(f"arn:aws:iam::{account}:role/{name}")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--roles", type=int, default=50)
    parser.add_argument("--share", type=float, default=0.01, help="share of the roles changed before run 3")
    parser.add_argument("--code", help="run the CLI from this checkout instead (the code before a change)")
    parser.add_argument("--out", default=None, help="folder for logs and writes.json (default: a temp dir)")
    args = parser.parse_args()
    workdir = Path(args.out or tempfile.mkdtemp(prefix="consoleme-writes-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"accounts": args.accounts, "roles_per_account": args.roles, "code": args.code or "this"}
    with start_redis_server() as server:
        moto = SeededMoto(args.accounts, args.roles, workdir, config_rows=0)
        try:
            with CountingProxy(moto.url) as proxy:
                env = {
                    **aws_env(proxy.url),
                    "REDIS_URL": server.url,
                    "CONSOLEME_ASSETS_CONFIG": str(BENCH_CONFIG),
                    "DAGSTER_HOME": str(workdir / "dagster_home"),
                    "PYTHONUNBUFFERED": "1",
                }
                (workdir / "dagster_home").mkdir(exist_ok=True)
                cli = [sys.executable, "-m", "consoleme_assets.cli", "refresh"]
                if args.code:  # isolated (-I): neither the working folder nor PYTHONPATH shadows the other checkout
                    code = str(Path(args.code).resolve())
                    run = f"import sys; sys.path.insert(0, {code!r}); from consoleme_assets.cli import run; run()"
                    cli = [sys.executable, "-I", "-c", run, "refresh"]
                writes = RedisWrites(server.url)
                run_measured(cli + ["--select", "aws_accounts"], env, workdir / "setup.log")
                proxy.take(), writes.take()
                for name in ("first", "unchanged", "changed"):
                    if name == "changed":
                        results["roles_changed"] = len(change_roles(moto.url, moto.manifest, args.share))
                        proxy.take()
                    measured = run_measured(cli + ["--select", "iam_resources"], env, workdir / f"{name}.log")
                    results[name] = {
                        **{k: measured[k] for k in ("wall_seconds", "cpu_seconds", "exit_code", "loadavg_1min_after")},
                        **proxy.take(),
                        **writes.take(),
                    }
                    print(name, json.dumps(results[name], sort_keys=True), flush=True)
                writes.stop()
        finally:
            moto.stop()
    (workdir / "writes.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"wrote {workdir / 'writes.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
