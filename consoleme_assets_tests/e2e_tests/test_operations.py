"""What an operator sees in the first minutes of ``dagster dev`` on a new instance, through GraphQL and the UI:

1. Every schedule's first tick (evaluated and launched as the UI's "Test schedule" does) and every sensor's
   first ticks on a fresh sandbox: no failed run, no failed tick (a schedule with nothing to do yet skips).
2. "Materialize all" (one backfill of every asset over every account, as the UI launches it): every check of
   every asset then shows passed, none skipped, in GraphQL and on the asset pages in Chromium; every account
   partition materialized, the caches in Redis in ConsoleMe's shapes, automations in their default state,
   freshness known; the asset graphs show each per-account asset's partition count, and a partitions page
   lists every account (screenshots under ``.artifacts/e2e/sqlite/``).
3. Idle (while the UI of step 2 is looked at), ``dagster dev`` (started as ``make dev`` starts it) prints at
   most a few lines a minute.
4. Two launches of one dataset from the catalog (no job tags): the second queues until the first ended.
5. Redis flushed under the running instance, and a role-change event queued: within one tick of
   ``cache_presence_sensor`` the lost datasets' ``cache_shape`` checks show failed; every IAM cache comes back
   whole (aws_accounts first, then IAM), although the event wrote one role back first; the credential mapping
   and the policies table are republished only from the whole cache (their materializations' counts, as the
   asset pages show them), and no run failed.
"""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest
import redis
import yaml

from consoleme_assets.sandbox.events import ROLE_CHANGE_QUEUE, role_change_event

from .browser import check_ui, chromium_page
from .flow import (
    LAUNCH_BACKFILL,
    LAUNCH_RUN,
    LOCATION,
    REPOSITORY,
    TERMINAL_RUN,
    _check_typename,
    check_automations,
    check_freshness,
    check_redis,
    observe,
    per_account_assets,
    wait_for_backfill,
    wait_for_run,
)
from .harness import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

REPO_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

AUTOMATIONS = """
query($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    ... on Schedules { results { name pipelineName scheduleState { status } } }
  }
  sensorsOrError(repositorySelector: $repo) {
    ... on Sensors { results { name sensorState { status ticks(limit: 20) { status error { message } } } } }
  }
}
"""

SCHEDULE_DRY_RUN = """
mutation($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult {
        skipReason
        error { message }
        runRequests { runKey jobName runConfigYaml tags { key value } assetSelection { path } }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

RUNS = """
query($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 500) {
    ... on Runs { results { runId jobName status startTime endTime tags { key value } } }
  }
}
"""

CHECKS = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization { status runId evaluation { success description } }
        }
      }
    }
  }
}
"""


CHECK_HISTORY = """
query History($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 20) {
    status runId evaluation { success description }
  }
}
"""


IAM_KEYS = ("IAM_ROLE_CACHE", "IAM_USER_CACHE", "IAM_GROUP_CACHE", "IAM_POLICY_CACHE")
DERIVED = {"credential_authorization_mapping": "identities", "policies_table": "dagster/row_count"}
MATERIALIZATIONS = """
query($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 50) { timestamp runId
      metadataEntries { label ... on IntMetadataEntry { intValue } } } }
  }
}
"""


def materialized_since(dev, asset: str, since: float) -> list[dict]:
    """The asset's materializations after `since` (epoch seconds), each {metadata label: int value}."""
    events = dev.graphql(MATERIALIZATIONS, {"key": {"path": [asset]}})["assetOrError"]["assetMaterializations"]
    return [
        {e["label"]: e.get("intValue") for e in m["metadataEntries"]}
        for m in events
        if int(m["timestamp"]) / 1000 > since
    ]


def count_of(dev, asset: str, label: str) -> int | None:
    """The `label` of the asset's latest materialization (rows or identities), as its page shows it."""
    events = dev.graphql(MATERIALIZATIONS, {"key": {"path": [asset]}})["assetOrError"]["assetMaterializations"]
    latest = max(events, key=lambda m: int(m["timestamp"]), default=None)
    return next((e.get("intValue") for e in latest["metadataEntries"] if e["label"] == label), None) if latest else None


def queue_role_change(env: dict[str, str], account: str, role: str) -> None:
    """One role-change event for the account's role, as EventBridge queues it."""
    aws = dict(
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sqs = boto3.client("sqs", **aws)
    url = sqs.get_queue_url(QueueName=ROLE_CHANGE_QUEUE)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(role_change_event(account, role, "TagRole")))


def check_history(dev, asset: str, check: str) -> list[dict]:
    """The check's executions, newest first, as its row on the asset's Checks tab lists them (runless included)."""
    return dev.graphql(CHECK_HISTORY, {"assetKey": {"path": [asset]}, "checkName": check})["assetCheckExecutions"]


def check_states(dev) -> dict[str, dict]:
    """{"asset:check": {"status", "success", "description"}} of every check, as the asset pages show them."""
    out = {}
    for node in dev.graphql(CHECKS)["assetNodes"]:
        asset = "/".join(node["assetKey"]["path"])
        for check in node["assetChecksOrError"].get("checks") or []:
            execution = check["executionForLatestMaterialization"] or {}
            evaluation = execution.get("evaluation") or {}
            out[f"{asset}:{check['name']}"] = {
                "status": execution.get("status"),
                "success": evaluation.get("success"),
                "description": evaluation.get("description"),
            }
    return out


ACTIVE_RUN = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]


def wait_for_checks(dev, logs, timeout: float = 300) -> dict[str, dict]:
    """Every check's state, once each has a finished result for its asset's latest materialization; on a
    timeout the message names the unfinished checks and the runs still active."""
    unfinished: dict[str, str | None] = {}

    def finished():
        states = check_states(dev)
        unfinished.clear()
        unfinished.update({k: v["status"] for k, v in states.items() if v["status"] in (None, "IN_PROGRESS")})
        return states if states and not unfinished else None

    try:
        return wait_for("every check's result for the latest materialization", finished, timeout, logs=logs, interval=2)
    except AssertionError as exc:
        active = [(r["jobName"], r["runId"], r["status"]) for r in runs(dev, ACTIVE_RUN)]
        raise AssertionError(f"unfinished checks: {unfinished}\nactive runs: {active}\n{exc}") from None


def runs(dev, statuses: list[str] | None = None) -> list[dict]:
    return dev.graphql(RUNS, {"filter": {"statuses": statuses} if statuses else {}})["runsOrError"]["results"]


def wait_idle(dev, logs, timeout: float = 600) -> None:
    """No run queued or in progress."""
    try:
        wait_for("every run to finish", lambda: not runs(dev, ACTIVE_RUN), timeout, logs=logs, interval=3)
    except AssertionError as exc:
        active = [(r["jobName"], r["runId"], r["status"]) for r in runs(dev, ACTIVE_RUN)]
        raise AssertionError(f"runs still active: {active}\n{exc}") from None


# The schedules whose first ticks refresh the per-account datasets (and the CloudTrail errors) on a cold start.
FIRST_REFRESHES = (
    "iam_every_45_minutes",
    "inventory_every_45_minutes",
    "aws_config_hourly",
    "cloudtrail_denies_hourly",
)


def first_schedule_ticks(dev, logs) -> dict[str, str]:
    """Every RUNNING schedule evaluated now, its run requests launched as the UI's "Test schedule" dialog does."""
    data = dev.graphql(AUTOMATIONS, {"repo": REPO_SELECTOR})
    outcome = {}
    for schedule in data["schedulesOrError"]["results"]:
        if schedule["scheduleState"]["status"] != "RUNNING":
            continue
        selector = {**REPO_SELECTOR, "scheduleName": schedule["name"]}
        tick = dev.graphql(SCHEDULE_DRY_RUN, {"selector": selector, "timestamp": time.time()})["scheduleDryRun"]
        assert tick["__typename"] == "DryRunInstigationTick", (schedule["name"], tick)
        result = tick["evaluationResult"]
        assert not result["error"], (schedule["name"], result["error"])
        if result["skipReason"]:
            outcome[schedule["name"]] = f"skipped: {result['skipReason']}"
        for request in result["runRequests"] or []:
            params = {
                "selector": {**REPO_SELECTOR, "pipelineName": request["jobName"] or schedule["pipelineName"]},
                "runConfigData": yaml.safe_load(request["runConfigYaml"]) or {},
                "mode": "default",
                "executionMetadata": {"tags": request["tags"]},
            }
            launched = _check_typename(
                dev.graphql(LAUNCH_RUN, {"params": params})["launchRun"],
                "LaunchRunSuccess",
                f"launchRun({schedule['name']})",
                dev,
            )
            outcome[schedule["name"]] = launched["run"]["runId"]
    return outcome


def materialize_all(dev, logs, accounts: list[str]) -> str:
    nodes = dev.graphql("{ assetNodes { assetKey { path } isMaterializable } }")["assetNodes"]
    selection = [{"path": n["assetKey"]["path"]} for n in nodes if n["isMaterializable"]]
    params = {"assetSelection": selection, "partitionNames": accounts, "title": "Materialize all"}
    launched = _check_typename(
        dev.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"],
        "LaunchBackfillSuccess",
        "launchPartitionBackfill(all)",
        dev,
    )
    backfill_id = launched["backfillId"]
    wait_for_backfill(dev, backfill_id, logs)
    return backfill_id


def check_pages(page, base_url: str, artifacts, assets: dict[str, list[str]]) -> None:
    """Each asset's Checks tab in Chromium lists each of its checks as Succeeded (not Skipped or Failed)."""
    from .browser import _dismiss_popups, _wait_for_text

    for asset, names in assets.items():
        # Each row reads "<name> <name> <latest result>"; a check the 15-minute schedule is evaluating
        # right now reads "In progress": wait for it to finish, reloading as a user would.
        rows = "".join(rf"(?=.*\b{re.escape(n)}\s+{re.escape(n)}\s+\w+)" for n in names)
        deadline = time.monotonic() + 180
        while True:
            page.goto(f"{base_url}/assets/{asset}?view=checks", wait_until="domcontentloaded")
            text = _wait_for_text(page, rows, 120)
            shown = {n: re.search(rf"\b{re.escape(n)}\s+{re.escape(n)}\s+(\w+)", text).group(1) for n in names}
            if "In" not in shown.values() or time.monotonic() > deadline:
                break
            time.sleep(3)
        _dismiss_popups(page)
        page.screenshot(path=str(artifacts / f"checks-{asset}.png"))
        (artifacts / f"checks-{asset}.txt").write_text(text)
        assert shown == {n: "Succeeded" for n in names}, (asset, shown)


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_first_minutes_checks_run_limit_and_refill(stack):
    dev, logs = stack.dev, stack.services
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    started, steps = time.monotonic(), {}

    def step_done(name: str) -> None:
        steps[name] = round(time.monotonic() - started, 1)
        print(f"[operations] {name} at {steps[name]} s", flush=True)

    # 1. A fresh start: the discovery sensor adds the accounts and refreshes aws_accounts; then every schedule's
    #    first tick. Nothing turns red: a schedule with nothing to do yet skips, with its reason.
    wait_for(
        "the discovery sensor's first refresh of ALL_AWS_ACCOUNTS",
        lambda: client.exists("ALL_AWS_ACCOUNTS"),
        180,
        logs=logs,
        interval=2,
    )
    wait_idle(dev, logs)
    step_done("discovery refreshed aws_accounts")
    outcome = first_schedule_ticks(dev, logs)
    # The mapping skips while IAM_ROLE_CACHE is empty, or holds only what the sandbox's role-change events wrote
    # (no IAM refresh yet): never built from two roles.
    mapping = outcome["credential_mapping_every_5_minutes"]
    assert mapping.startswith("skipped: ") and (
        "IAM_ROLE_CACHE is empty" in mapping or "no account refreshed yet" in mapping
    ), outcome
    # Nor is anything else built from the per-account caches while their first refreshes (launched by this same
    # pass) are under way: the derived schedules skip, or, when they tick after those refreshes ended (a quiet
    # machine runs each in seconds), their run starts after every one of them succeeded.
    wait_idle(dev, logs)
    by_id = {r["runId"]: r for r in runs(dev)}
    upstream = [by_id[outcome[n]] for n in FIRST_REFRESHES if not outcome.get(n, "skipped: ").startswith("skipped: ")]
    for derived in ("policies_table_every_30_minutes", "self_service_every_30_minutes"):
        if outcome[derived].startswith("skipped: "):
            assert "waits for its upstream" in outcome[derived], outcome
            continue
        started = by_id[outcome[derived]]["startTime"]
        assert all(r["status"] == "SUCCESS" and r["endTime"] <= started for r in upstream), (derived, upstream)
    sensors = {
        s["name"]: s["sensorState"]
        for s in dev.graphql(AUTOMATIONS, {"repo": REPO_SELECTOR})["sensorsOrError"]["results"]
    }
    bad_ticks = {n: [t["error"] for t in s["ticks"] if t["status"] == "FAILURE"] for n, s in sensors.items()}
    assert not any(bad_ticks.values()), bad_ticks
    assert all(
        s["ticks"] for n, s in sensors.items() if s["status"] == "RUNNING" and n != "consoleme_run_failure_alerts"
    ), sensors
    assert runs(dev, ["FAILURE", "CANCELED"]) == [], runs(dev, ["FAILURE", "CANCELED"])
    assert len(runs(dev)) >= 3, outcome  # aws_accounts and the schedules' runs really ran
    # Every run's process loads the code: no Python warning of ours or Dagster's reaches the terminal (Dagster
    # 1.13 warned twice per run about sensor `owners`). `dagster dev` itself advising `dg dev` is left alone.
    warned = [
        line
        for line in dev.log_path.read_text(errors="replace").splitlines()
        if re.search(r"\b\w+Warning: ", line) and "dev_command" not in line
    ]
    assert not warned, "\n".join(warned[:10])
    step_done("1 first ticks")

    # 2. Materialize all: every check of every asset passed, none skipped.
    accounts = sorted(
        a["id"] for a in json.loads(client.get("ALL_AWS_ACCOUNTS"))["accounts"] if a["status"] == "active"
    )
    materialize_all(dev, logs, accounts)
    step_done("2 materialize all")
    # A schedule's tick may have launched runs meanwhile (at the top of the hour about a dozen start together,
    # the checks job last in the queue): wait for them, then for every check's finished result.
    wait_idle(dev, logs)
    states = wait_for_checks(dev, logs)
    not_passed = {k: v for k, v in states.items() if v["status"] != "SUCCEEDED" or v["success"] is not True}
    assert not not_passed, not_passed
    for name in (
        "iam_resources:accounts_fresh",
        "iam_resources:cache_shape",
        "iam_resources:covers_all_accounts",
        "s3_buckets:covers_all_accounts",
        "credential_authorization_mapping:cache_shape",
    ):
        assert name in states, sorted(states)
    by_asset: dict[str, list[str]] = {}
    for key in states:
        asset, check = key.split(":")
        by_asset.setdefault(asset, []).append(check)
    step_done("2 checks finished")
    # 3. Idle, the terminal stays quiet for 45 s: sensors tick every 30-60 s without a line; only runs and alerts
    #    speak. (Nothing runs now: the 45 s are counted while the UI below is looked at.)
    idle_from, before = time.monotonic(), len(dev.log_path.read_text(errors="replace").splitlines())
    # What the refresh left, as GraphQL reports it: every partition materialized, automations in their default
    # state, daemons healthy, a freshness state on every asset with a policy; and the caches in Redis.
    result = observe(dev, per_account_assets(dev), accounts, logs)
    check_redis(stack.env["REDIS_URL"], accounts)
    check_automations(result)
    check_freshness(result)
    (stack.artifacts / "result.json").write_text(json.dumps(result.__dict__, indent=2, default=str))

    # The UI in Chromium: the checks tabs, the asset graphs with partition counts, a partitions page.
    assert dev.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True  # the first-visit pop-up, as Skip does
    assert dev.graphql("{ shouldShowNux }")["shouldShowNux"] is False
    nodes = dev.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    with chromium_page(stack.artifacts) as page:
        check_pages(
            page, dev.url, stack.artifacts, {a: by_asset[a] for a in ("iam_resources", "s3_buckets", "policies_table")}
        )
        shots = check_ui(page, dev.url, stack.artifacts, groups, result.per_account_assets, accounts)
    assert all(path.stat().st_size > 10_000 for path in shots.values()), shots
    step_done("2 UI")
    time.sleep(max(0.0, 45 - (time.monotonic() - idle_from)))
    idle_lines = dev.log_path.read_text(errors="replace").splitlines()[before:]
    assert len(idle_lines) <= 3, "\n".join(idle_lines)
    # Started as `make dev` starts it, nothing in the terminal reads as something broken (issue 24 item 6).
    terminal = dev.log_path.read_text(errors="replace")
    for alarming in ("is superseded", "will not be used to configure Dagster"):
        assert alarming not in terminal, [line for line in terminal.splitlines() if alarming in line][:5]
    step_done("3 idle")

    # 4. Two launches of one dataset from the catalog (the implicit asset job: no job tags): the second queues.
    params = {
        "selector": {**REPO_SELECTOR, "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": ["iam_resources"]}]},
        "mode": "default",
        "executionMetadata": {
            "tags": [
                {"key": "dagster/asset_partition_range_start", "value": accounts[0]},
                {"key": "dagster/asset_partition_range_end", "value": accounts[-1]},
            ]
        },
    }
    ids = [
        _check_typename(
            dev.graphql(LAUNCH_RUN, {"params": params})["launchRun"],
            "LaunchRunSuccess",
            "launchRun(iam_resources)",
            dev,
        )["run"]["runId"]
        for _ in range(2)
    ]
    seen_queued_behind = False
    while True:
        status = {r["runId"]: r for r in runs(dev) if r["runId"] in ids}
        first, second = status[ids[0]], status[ids[1]]
        if first["status"] in ("STARTING", "STARTED") and second["status"] == "QUEUED":
            seen_queued_behind = True
        assert not (first["status"] in ("STARTING", "STARTED") and second["status"] in ("STARTING", "STARTED")), status
        if all(r["status"] in TERMINAL_RUN for r in (first, second)):
            break
        time.sleep(0.5)
    for run_id in ids:
        wait_for_run(dev, run_id, 60, logs)
    status = {r["runId"]: r for r in runs(dev) if r["runId"] in ids}
    # Either order (the queue may take the second first), never overlapping.
    a, b = sorted(status.values(), key=lambda r: r["startTime"])
    assert b["startTime"] >= a["endTime"], (a, b)
    assert seen_queued_behind or b["startTime"] >= a["endTime"]
    step_done("4 two launches")

    # 5. Redis flushed (failover to an empty replica, or `make dev` restarted with a new Redis), and a role-change
    #    event queued: the event writes its one role back into IAM_ROLE_CACHE, yet IAM is refilled whole, and the
    #    datasets built from it are published only from the whole cache (issue 24, item 1).
    whole = {key: client.hlen(key) for key in IAM_KEYS}
    built = {name: count_of(dev, name, label) for name, label in DERIVED.items()}
    assert all(whole.values()) and all(built.values()), (whole, built)
    app = next(arn for arn in client.hkeys("IAM_ROLE_CACHE") if arn.endswith(":role/demo-app"))
    client.flushall()
    flushed = time.time()
    queue_role_change(stack.env, app.split(":")[4], "demo-app")

    # Refilled by the presence sensor (its failed check evaluations, tick by tick: test_presence.py).
    wait_for("ALL_AWS_ACCOUNTS to be refilled", lambda: client.exists("ALL_AWS_ACCOUNTS"), 120, logs=logs, interval=1)
    reported_after = time.time() - flushed
    step_done("5 aws_accounts refilled")
    wait_for("IAM_ROLE_CACHE to be refilled", lambda: client.hlen("IAM_ROLE_CACHE") > 0, 420, logs=logs, interval=3)
    # The sensor's failed evaluation stays in each lost check's history even once the refill passed it again.
    for asset in ("aws_accounts", "iam_resources"):
        history = check_history(dev, asset, "cache_shape")
        lost = [
            e
            for e in history
            if e["status"] == "FAILED"
            and e["runId"] in ("", None)
            and "does not exist" in ((e.get("evaluation") or {}).get("description") or "")
        ]
        assert lost, f"{asset}: no failed cache_shape evaluation after the flush in {history}"
    wait_for(
        "every IAM cache to be refilled whole",
        lambda: {key: client.hlen(key) for key in IAM_KEYS} == whole,
        420,
        logs=logs,
        interval=3,
    )
    for name in DERIVED:
        wait_for(f"{name} to be rebuilt", lambda n=name: materialized_since(dev, n, flushed), 300, logs=logs)
    wait_idle(dev, logs)
    # Every publication of a derived dataset since the flush was built from the whole IAM cache.
    for name, label in DERIVED.items():
        since = materialized_since(dev, name, flushed)
        assert since and {m[label] for m in since} == {built[name]}, (name, built[name], since)
    # (The rest of the chain, tick by tick, is lib_tests/test_presence.py.)
    assert runs(dev, ["FAILURE", "CANCELED"]) == []
    step_done("5 IAM refilled")

    (stack.artifacts / "operations.json").write_text(
        json.dumps(
            {
                "schedules": outcome,
                "lost_reported_after_seconds": reported_after,
                "idle_lines_in_45_s": len(idle_lines),
                "step_seconds": steps,
            },
            indent=2,
        )
    )
