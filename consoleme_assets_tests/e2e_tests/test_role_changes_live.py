"""Issue 12's "Done when" for role changes, live: the sandbox (moto + Redis, its role-change queue seeded), then
``dagster-webserver`` and ``dagster-daemon`` as separate processes on one SQLite ``DAGSTER_HOME``.

1. The seeded events are consumed with nothing but the daemon running: the two good ones land in IAM_ROLE_CACHE,
   the three bad ones are deleted, and the sensor's tick log names each of them.
2. A role gets a permissions boundary and a new inline policy in AWS, and its event is queued (SNS-wrapped, next
   to a raw event for another role and one without ``detail``): within 60 s of queueing both roles are in
   IAM_ROLE_CACHE and DynamoDB in ConsoleMe's refresh_iam_role format, the queue is empty, and the run's
   metadata (what the UI shows) carries the lag.
3. That change is one change record (issue 22) whose diff shows the inline policy's statement: in the run's
   metadata as the UI shows it (a Markdown table), and through `consoleme-assets history`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis

from consoleme_assets.sandbox.events import ROLE_CHANGE_QUEUE, role_change_event, sns_envelope

from .conftest import artifacts_dir, sandbox_base
from .flow import LOCATION, REPOSITORY
from .harness import REPO, DagsterDaemon, DagsterWebserver, Service, assert_no_orphans, start_sandbox, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

HUB = "123456789012"
BOUNDARY = "arn:aws:iam::aws:policy/PowerUserAccess"
ENTRY_FIELDS = {"arn", "name", "resourceId", "accountId", "ttl", "policy", "permissions_boundary", "templated"}
SENSOR_TICKS = """
query($sel: SensorSelector!) {
  sensorOrError(sensorSelector: $sel) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 50) { status skipReason logEvents { events { level message } } } } }
  }
}
"""
RUNS = """
query($job: String!) {
  runsOrError(filter: {pipelineName: $job}) { ... on Runs { results { runId status } } }
}
"""
STEP_OUTPUT_METADATA = """
query($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename
      ... on ExecutionStepOutputEvent { stepKey metadataEntries { label
        ... on FloatMetadataEntry { floatValue } ... on IntMetadataEntry { intValue }
        ... on JsonMetadataEntry { jsonString } ... on MarkdownMetadataEntry { mdStr } } } } }
  }
}
"""


class Stack:
    def __init__(self, tmp_path: Path):
        self.artifacts = artifacts_dir("role_changes")
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.started: list[Service] = []
        self.sandbox, sandbox_env = start_sandbox(self.logs)
        self.started.append(self.sandbox)
        self.env = sandbox_base(sandbox_env)
        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")
        # Storage created once, first: webserver and daemon migrating an empty home at once race.
        subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "instance", "migrate"],
            check=True,
            env={**self.env, "DAGSTER_HOME": str(self.home)},
            capture_output=True,
            timeout=300,
        )
        self.web = DagsterWebserver(self.home, self.env, self.logs)
        self.started.append(self.web)
        self.daemon = DagsterDaemon(self.home, self.env, self.logs)
        self.started.append(self.daemon)
        self.web.wait_serving()
        wait_for("the daemon's heartbeats", self.web.daemons_healthy, 300, logs=self.services, interval=2)
        self.daemon.remember_children()
        self.redis = redis.Redis.from_url(sandbox_env["REDIS_URL"], decode_responses=True)
        self.aws = dict(
            endpoint_url=sandbox_env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.sqs = boto3.client("sqs", **self.aws)
        self.queue_url = self.sqs.get_queue_url(QueueName=ROLE_CHANGE_QUEUE)["QueueUrl"]

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self.started)

    def member_iam(self, account_id: str):
        creds = boto3.client("sts", **self.aws).assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="e2e"
        )["Credentials"]
        return boto3.client(
            "iam",
            endpoint_url=self.aws["endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def queue_counts(self) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dynamo_item(self, arn: str, account_id: str) -> dict | None:
        from consoleme_assets.stores.dynamo_store import from_dynamo

        item = (
            boto3.resource("dynamodb", **self.aws)
            .Table("consoleme_iamroles_global")
            .get_item(Key={"arn": arn, "accountId": account_id})
            .get("Item")
        )
        return None if item is None else from_dynamo(item)

    def sensor_log(self) -> list[tuple[str, str]]:
        sel = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": "role_change_sensor"}
        sensor = self.web.graphql(SENSOR_TICKS, {"sel": sel})["sensorOrError"]
        assert sensor["__typename"] == "Sensor", sensor
        return [(e["level"], e["message"]) for t in sensor["sensorState"]["ticks"] for e in t["logEvents"]["events"]]

    def stop(self) -> None:
        for service in reversed(self.started):
            service.stop()
        for service in self.started:
            shutil.copy(service.log_path, self.artifacts / service.log_path.name)
        assert_no_orphans(*self.started)
        assert not [s.name for s in self.started if s.killed], "a process ignored SIGTERM"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.stop()


def _accounts(stack: Stack) -> list[str]:
    raw = stack.redis.get("ALL_AWS_ACCOUNTS")  # the discovery sensor's first tick refreshes aws_accounts
    if not raw:
        return []
    return sorted(a["id"] for a in json.loads(raw)["accounts"] if a["status"] == "active" and a["id"] != HUB)


def test_role_change_events_land_within_60_seconds_under_webserver_and_daemon(stack: Stack):
    started = time.monotonic()
    # 1. The seeded queue drains by itself: two roles written, three messages dropped and logged.
    wait_for(
        "the seeded role changes to land and the queue to drain",
        lambda: stack.queue_counts() == (0, 0) and stack.redis.hlen("IAM_ROLE_CACHE") >= 2,
        300,
        logs=stack.services,
        interval=2,
    )
    seeded = stack.redis.hkeys("IAM_ROLE_CACHE")
    assert sorted(a.rsplit("/", 1)[-1] for a in seeded) == ["demo-app", "demo-worker"], seeded
    assert any("/service/demo-worker" in a for a in seeded)
    log = stack.sensor_log()
    dropped = [m for level, m in log if level == "WARNING" and "deleted unprocessed" in m]
    assert len(dropped) == 3 and all(ROLE_CHANGE_QUEUE in m for m in dropped), log
    assert any("event has no detail object" in m for m in dropped) and any("999999999999" in m for m in dropped)
    seeded_seconds = time.monotonic() - started

    # 2. A change in AWS, its event queued: in the cache within 60 s.
    member, other = wait_for("ALL_AWS_ACCOUNTS", lambda: _accounts(stack), 120, logs=stack.services)[:2]
    iam = stack.member_iam(member)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
    iam.put_role_permissions_boundary(RoleName="demo-app", PermissionsBoundary=BOUNDARY)
    iam.put_role_policy(RoleName="demo-app", PolicyName="e2e-added", PolicyDocument=json.dumps(policy))
    changed = f"arn:aws:iam::{member}:role/demo-app"
    also = f"arn:aws:iam::{other}:role/ConsoleMe"  # not cached yet
    assert not stack.redis.hexists("IAM_ROLE_CACHE", also)
    no_detail = {k: v for k, v in role_change_event(member, "demo-app").items() if k != "detail"}
    bodies = [
        sns_envelope(
            role_change_event(member, "demo-app", "PutRolePermissionsBoundary"),
            f"arn:aws:sns:us-east-1:{HUB}:consoleme-role-changes",
        ),
        role_change_event(other, also.rsplit("/", 1)[-1], "TagRole"),
        no_detail,
    ]
    queued = time.monotonic()
    for body in bodies:
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps(body))

    def landed():
        entry = json.loads(stack.redis.hget("IAM_ROLE_CACHE", changed) or "{}")
        return (
            entry.get("permissions_boundary", {}).get("PermissionsBoundaryArn") == BOUNDARY
            and stack.redis.hexists("IAM_ROLE_CACHE", also)
            and entry
        )

    entry = wait_for("the changed roles in IAM_ROLE_CACHE", landed, 90, logs=stack.services, interval=0.5)
    seconds = time.monotonic() - queued
    assert set(entry) == ENTRY_FIELDS, entry
    detail = json.loads(entry["policy"])
    assert "e2e-added" in [p["PolicyName"] for p in detail["RolePolicyList"]]
    assert detail["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY and "RoleName" not in detail
    assert stack.dynamo_item(changed, member) == entry  # DynamoDB written before Redis
    other_entry = json.loads(stack.redis.hget("IAM_ROLE_CACHE", also))
    assert set(other_entry) == ENTRY_FIELDS and stack.dynamo_item(also, other) == other_entry
    assert seconds <= 60, f"the role landed {seconds:.1f} s after its event was queued"
    wait_for("the queue to drain", lambda: stack.queue_counts() == (0, 0), 60, logs=stack.services)
    assert sum("event has no detail object" in m for _, m in stack.sensor_log()) == 2

    # The run that wrote them shows the lag (event time -> cache write) in its step output's metadata.
    def finished():
        runs = stack.web.graphql(RUNS, {"job": "role_changes_job"})["runsOrError"]["results"]
        return all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs) and runs

    runs = wait_for("the role_changes_job runs to finish", finished, 60, logs=stack.services)
    assert len(runs) == 2 and all(r["status"] == "SUCCESS" for r in runs), runs
    events = stack.web.graphql(STEP_OUTPUT_METADATA, {"runId": runs[0]["runId"]})["logsForRun"]["events"]
    (output,) = [e for e in events if e["__typename"] == "ExecutionStepOutputEvent"]
    meta = {m["label"]: m for m in output["metadataEntries"]}
    assert meta["roles_refreshed"]["intValue"] == 2 and 0 <= meta["max_lag_seconds"]["floatValue"] <= seconds + 5
    assert set(json.loads(meta["roles"]["jsonString"])) == {changed, also}
    # 3. The change is in the history: the run's table in the UI, and `consoleme-assets history`.
    changed_run = next(r for r in runs if changed in _step_output(stack, r["runId"])["roles"]["jsonString"])
    table = _step_output(stack, changed_run["runId"])["run_changes_table"]["mdStr"]
    assert f"| changed | role | {member} | `{changed}` | policy |" in table, table
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "consoleme-assets"), "history", changed, "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    records = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    [record] = [r for r in records if r["change"] == "changed"]
    assert record["cause"]["type"] == "role_change" and record["cause"]["run_id"] == changed_run["runId"]
    added = [d for d in record["diff"] if d["path"] == "policy.RolePolicyList[e2e-added]"]
    assert added and added[0]["new"]["PolicyDocument"]["Statement"] == policy["Statement"], record["diff"]
    (stack.artifacts / "result.json").write_text(
        json.dumps(
            {
                "seeded_drained_seconds": round(seeded_seconds, 1),
                "queued_to_cache_seconds": round(seconds, 1),
                "max_lag_seconds": meta["max_lag_seconds"]["floatValue"],
                "median_lag_seconds": meta["median_lag_seconds"]["floatValue"],
            },
            indent=2,
        )
    )


def _step_output(stack: Stack, run_id: str) -> dict[str, dict]:
    events = stack.web.graphql(STEP_OUTPUT_METADATA, {"runId": run_id})["logsForRun"]["events"]
    (output,) = [e for e in events if e["__typename"] == "ExecutionStepOutputEvent"]
    return {m["label"]: m for m in output["metadataEntries"]}
