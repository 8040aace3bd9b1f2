"""The end-to-end flow, through Dagster's GraphQL API only, shared by the SQLite and PostgreSQL profiles."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import redis

from .harness import DagsterDev, Service, wait_for

LOCATION = "consoleme_assets"
REPOSITORY = "__repository__"
TERMINAL_RUN = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS"}
BACKFILL_BAD = {"FAILED", "COMPLETED_FAILED", "CANCELED", "CANCELING", "FAILING"}

ASSET_NODES = """
{ assetNodes { assetKey { path } partitionDefinition { name type } } }
"""

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on PythonError { stack }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { runId status } ... on Error { message } } }
"""

PARTITION_KEYS = """
query($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    __typename
    ... on AssetNode { partitionKeys partitionStats { numMaterialized numPartitions numFailed numMaterializing } }
  }
}
"""

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
    ... on PythonError { stack }
  }
}
"""

BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status numPartitions isAssetBackfill
      error { message }
      runs(limit: 100) { runId status tags { key value } }
    }
    ... on Error { message }
  }
}
"""

AUTOMATIONS = """
query($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    __typename ... on Schedules { results { name cronSchedule scheduleState { status } } } ... on Error { message }
  }
  sensorsOrError(repositorySelector: $repo) {
    __typename ... on Sensors { results { name sensorState { status ticks(limit: 5) { status } } } }
    ... on Error { message }
  }
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""

FRESHNESS = """
{
  assetNodes {
    assetKey { path }
    internalFreshnessPolicy {
      __typename
      ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
    }
    freshnessStatusInfo { freshnessStatus freshnessStatusMetadata { lastMaterializedTimestamp } }
  }
}
"""


@dataclass
class FlowResult:
    accounts: list[str]
    per_account_assets: list[str]
    backfill_id: str
    backfill_runs: list[dict]
    schedules: dict[str, str]
    sensors: dict[str, str]
    freshness: dict[str, dict] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _check_typename(result: dict, expected: str, what: str, dev: DagsterDev) -> dict:
    if result["__typename"] != expected:
        raise AssertionError(
            f"{what} returned {result['__typename']}: {json.dumps(result)[:3000]}\n"
            f"--- tail of {dev.log_path} ---\n{dev.log_tail()}"
        )
    return result


def wait_for_run(dev: DagsterDev, run_id: str, timeout: float, logs: tuple[Service, ...]) -> str:
    def status():
        run = dev.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        return run.get("status") in TERMINAL_RUN and run["status"]

    final = wait_for(f"run {run_id} to finish", status, timeout, logs=logs, interval=2)
    if final != "SUCCESS":
        raise AssertionError(f"run {run_id} ended {final}\n--- tail of {dev.log_path} ---\n{dev.log_tail(80)}")
    return final


def per_account_assets(dev: DagsterDev) -> list[str]:
    """The assets partitioned by account, as the webserver's asset graph says."""
    nodes = dev.graphql(ASSET_NODES)["assetNodes"]
    per_account = sorted(
        "/".join(n["assetKey"]["path"])
        for n in nodes
        if n["partitionDefinition"] and n["partitionDefinition"]["name"] == "aws_accounts"
    )
    assert per_account, f"no asset is partitioned by aws_accounts: {nodes}"
    assert any(n["assetKey"]["path"] == ["aws_accounts"] for n in nodes)
    return per_account


def run_flow(dev: DagsterDev, redis_url: str, logs: tuple[Service, ...]) -> FlowResult:
    """aws_accounts through the run queue, then one backfill of every per-account asset over every account;
    then what the instance says of them (``observe``)."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    per_account = per_account_assets(dev)

    # Materialize aws_accounts through the run queue (the daemon dequeues and launches it).
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": ["aws_accounts"]}],
        },
        "mode": "default",
        "executionMetadata": {"tags": [{"key": "e2e", "value": "aws_accounts"}]},
    }
    launched = _check_typename(
        dev.graphql(LAUNCH_RUN, {"params": params})["launchRun"], "LaunchRunSuccess", "launchRun(aws_accounts)", dev
    )
    wait_for_run(dev, launched["run"]["runId"], 300, logs)
    timings["aws_accounts_run"] = time.monotonic() - started
    accounts = account_partitions(dev, redis_url, per_account, logs)

    # One backfill of every per-account asset over every account partition.
    t0 = time.monotonic()
    backfill = {
        "assetSelection": [{"path": key.split("/")} for key in per_account],
        "partitionNames": accounts,
        "title": "e2e: every per-account asset, every account",
    }
    launched = _check_typename(
        dev.graphql(LAUNCH_BACKFILL, {"params": backfill})["launchPartitionBackfill"],
        "LaunchBackfillSuccess",
        "launchPartitionBackfill",
        dev,
    )
    backfill_id = launched["backfillId"]
    runs = wait_for_backfill(dev, backfill_id, logs)
    timings["backfill"] = time.monotonic() - t0
    result = observe(dev, per_account, accounts, logs)
    result.backfill_id, result.backfill_runs = backfill_id, runs
    timings["total"] = time.monotonic() - started
    result.timings = timings
    return result


def account_partitions(dev: DagsterDev, redis_url: str, per_account: list[str], logs: tuple[Service, ...]) -> list:
    """The account partitions, once they equal ALL_AWS_ACCOUNTS' active accounts (the aws_accounts asset and the
    discovery sensor both keep them in step)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    all_accounts = json.loads(client.get("ALL_AWS_ACCOUNTS"))["accounts"]
    active = sorted(a["id"] for a in all_accounts if a.get("status", "active") == "active")
    assert active, f"ALL_AWS_ACCOUNTS has no active account: {all_accounts}"

    def partitions():
        node = dev.graphql(PARTITION_KEYS, {"path": [per_account[0]]})["assetNodeOrError"]
        return sorted(node["partitionKeys"]) == active and node["partitionKeys"]

    return wait_for("the aws_accounts partitions to equal the active accounts", partitions, 120, logs=logs)


def wait_for_backfill(dev: DagsterDev, backfill_id: str, logs: tuple[Service, ...], timeout: float = 900) -> list:
    """Until the backfill completed and each of its runs ended; fails fast on a failed or canceled backfill and
    on any run that did not succeed. Returns its runs."""
    last: dict = {}

    def backfill_done():
        nonlocal last
        last = dev.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if last.get("status") in BACKFILL_BAD:
            raise AssertionError(
                f"backfill {backfill_id} is {last['status']}: {json.dumps(last)[:3000]}\n"
                f"--- tail of {dev.log_path} ---\n{dev.log_tail(80)}"
            )
        runs = last.get("runs") or []
        return last.get("status") in BACKFILL_DONE and runs and all(r["status"] in TERMINAL_RUN for r in runs)

    # The backfill daemon ticks every ~30 s (fixed in Dagster); each run then waits in the queue.
    wait_for(f"backfill {backfill_id} to complete", backfill_done, timeout, logs=logs, interval=3)
    failed = [r for r in last["runs"] if r["status"] != "SUCCESS"]
    assert not failed, f"backfill runs did not all succeed: {failed}\n{dev.log_tail(80)}"
    return last["runs"]


def observe(dev: DagsterDev, per_account: list[str], accounts: list[str], logs: tuple[Service, ...]) -> FlowResult:
    """After every per-account asset was refreshed over every account: partition status, automations and
    daemon health, freshness, as GraphQL (the UI) reports them."""
    # Every per-account asset reports every partition materialized.
    # (Polled: right after the runs end, Dagster's partition-status cache can still count them as materializing.)
    for key in per_account:
        stats: dict = {}

        def settled(key: str = key) -> bool:
            nonlocal stats
            stats = dev.graphql(PARTITION_KEYS, {"path": key.split("/")})["assetNodeOrError"]["partitionStats"]
            return stats["numMaterializing"] == 0 and stats["numMaterialized"] == len(accounts)

        wait_for(f"{key}'s partition status to settle", settled, 120, logs=logs, interval=2)
        assert stats["numPartitions"] == len(accounts) and stats["numMaterialized"] == len(accounts), (key, stats)
        assert stats["numFailed"] == 0, (key, stats)

    # Automations: registered, running, and the daemon is healthy.
    data = dev.graphql(AUTOMATIONS, {"repo": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}})
    schedules = {s["name"]: s["scheduleState"]["status"] for s in data["schedulesOrError"]["results"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in data["sensorsOrError"]["results"]}
    unhealthy = [d for d in data["instance"]["daemonHealth"]["allDaemonStatuses"] if d["required"] and not d["healthy"]]
    assert not unhealthy, f"daemons not healthy: {unhealthy}\n{dev.log_tail()}"

    # Freshness state of every asset (None where no policy is attached).
    freshness = {
        "/".join(n["assetKey"]["path"]): {"policy": n["internalFreshnessPolicy"], "status": n["freshnessStatusInfo"]}
        for n in dev.graphql(FRESHNESS)["assetNodes"]
    }
    return FlowResult(accounts, per_account, "", [], schedules, sensors, freshness)


def check_redis(redis_url: str, accounts: list[str]) -> None:
    """The caches the refresh wrote, in ConsoleMe's shapes, for every account partition."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for key in ("S3_BUCKETS", "SQS_QUEUES", "SNS_TOPICS"):
        fields = client.hgetall(key)
        assert sorted(fields) == sorted(accounts), (key, sorted(fields))
        assert all(isinstance(json.loads(v), list) for v in fields.values()), key
    assert any(json.loads(v) for v in client.hgetall("S3_BUCKETS").values()), "no bucket in any account"
    for key in ("IAM_ROLE_CACHE", "IAM_USER_CACHE"):
        arns = client.hkeys(key)
        assert {arn.split(":")[4] for arn in arns} == set(accounts), (key, arns[:5])
    managed = client.hgetall("IAM_MANAGED_POLICIES")
    assert set(managed) == set(accounts), sorted(managed)
    stamps = client.hgetall("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED")
    assert {"S3_BUCKETS", "IAM_ROLE_CACHE"} <= set(stamps), sorted(stamps)


def check_automations(result: FlowResult) -> None:
    """Every schedule and sensor of the code is registered, in the state its definition asks for (RUNNING
    unless it says otherwise), and the ones that start RUNNING are indeed running."""
    from consoleme_assets.definitions import defs

    expected_schedules = {s.name: s.default_status.value for s in defs.schedules}
    expected_sensors = {s.name: s.default_status.value for s in defs.sensors}
    assert result.schedules == expected_schedules, result.schedules
    assert result.sensors == expected_sensors, result.sensors
    assert "RUNNING" in result.schedules.values(), result.schedules
    assert result.sensors.get("aws_account_discovery_sensor") == "RUNNING", result.sensors


def check_freshness(result: FlowResult) -> None:
    assert set(result.freshness) >= set(result.per_account_assets) | {"aws_accounts"}
    with_policy = {key: f for key, f in result.freshness.items() if f["policy"]}
    for key, state in with_policy.items():
        # The FreshnessDaemon evaluates every ~30 s; right after a refresh the state is PASS or not yet known.
        assert state["status"] is not None, key
        assert state["status"]["freshnessStatus"] in {"HEALTHY", "WARNING", "DEGRADED", "UNKNOWN", "NOT_APPLICABLE"}
    for key, state in result.freshness.items():
        if not state["policy"]:
            assert state["status"] is None, key
