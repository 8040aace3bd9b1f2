"""Issue 5's "Done when", live: a newcomer who stops the daemon for two cadences sees the stale assets flagged
in the UI and gets exactly one alert per asset that went stale.

The production split on one SQLite ``DAGSTER_HOME``: ``dagster-webserver`` stays up while ``dagster-daemon`` is
stopped and started again. Settings (a ConsoleMe config file extending the sandbox's) give every asset a short
freshness window (warn after WARN_MINUTES, fail after FAIL_MINUTES: one "cadence" is the warn window) and send
alerts to a webhook served by this test. Schedules are switched off first, so that only this test refreshes
anything (with them on, the 5-minute schedules would catch up after the restart and recover their assets at a
moment the test does not choose).

1. Materialize every asset (the alert sensor is off meanwhile); a sensor tick after the last materialization
   sends nothing and Dagster says PASS.
2. Stop the daemon until the newest materialization is older than the fail window; no alert meanwhile.
3. Start the daemon: GraphQL (what the asset page shows) says FAIL for every asset, the ``accounts_fresh`` check
   names every account of every per-account asset, and the webhook gets exactly one alert per asset, naming the
   asset, its accounts, how stale, and its UI page; the next sensor tick sends nothing more.
4. Refresh everything again (the alert sensor off meanwhile): exactly one recovery alert per asset, and nothing
   else.

Time is real throughout (no clock is faked: Dagster's FreshnessDaemon judges the wall clock). What is shortened
is only how long anything waits to notice: the windows are Dagster's smallest that leave room for a full refresh
(WARN_MINUTES/FAIL_MINUTES), the FreshnessDaemon evaluates every FRESHNESS_INTERVAL_SECONDS (Dagster's
``FRESHNESS_DAEMON_INTERVAL_SECONDS``; 30 s by default) and the alert sensor every ALERT_INTERVAL_SECONDS
(``consoleme_assets.alerts.sensor_interval_seconds``; 60 s by default). So the daemon is stopped for about
FAIL_MINUTES, and the whole test takes about FAIL_MINUTES + two refreshes.

Logs, the alerts received and a screenshot of a stale asset's page go to ``.artifacts/e2e/staleness/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG
from consoleme_assets.sandbox.servers import free_port

from .conftest import artifacts_dir, sandbox_base
from .flow import LAUNCH_RUN, LOCATION, PARTITION_KEYS, REPOSITORY, _check_typename, wait_for_run
from .harness import REPO, DagsterDaemon, DagsterWebserver, Service, assert_no_orphans, start_sandbox, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

# Dagster's smallest windows (whole minutes, warn before fail). The warn window must outlast one full refresh of
# every asset (three queued runs: 20-40 s on a loaded CI machine) plus a freshness evaluation and a sensor tick, or
# the first-refreshed assets go WARN before the test looks. CHECK_SECONDS is what those two need: a refresh that
# leaves less of the warn window is run again, once (the test asserts the state was PASS, not assumes it).
WARN_MINUTES, FAIL_MINUTES = 1, 2
CHECK_SECONDS = 20
FRESHNESS_INTERVAL_SECONDS = 5  # Dagster's FreshnessDaemon (its env var); the sensor loop runs every 5 s too
ALERT_INTERVAL_SECONDS = 5  # consoleme_assets.alerts.sensor_interval_seconds
ALERT_SENSOR = "consoleme_alerts_sensor"
PER_ACCOUNT_CHECK = "accounts_fresh"
FRESHNESS = {"PASS": "HEALTHY", "WARN": "WARNING", "FAIL": "DEGRADED"}  # FreshnessState -> GraphQL status

ASSETS_FRESHNESS = """
{ assetNodes { assetKey { path } partitionDefinition { name }
               freshnessStatusInfo { freshnessStatus freshnessStatusMetadata { lastMaterializedTimestamp } }
               internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } } } }
"""
SCHEDULES = """
query($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) { ... on Schedules { results { name scheduleState { id status } } } }
}
"""
STOP_SCHEDULE = """
mutation($id: String!) { stopRunningSchedule(id: $id) { __typename ... on PythonError { message } } }
"""
SENSOR_TICKS = """
query($sel: SensorSelector!) {
  sensorOrError(sensorSelector: $sel) {
    __typename
    ... on Sensor { minIntervalSeconds sensorState { id status ticks(limit: 25) { tickId status timestamp endTimestamp skipReason
                                                             error { message } } } }
  }
}
"""
STOP_SENSOR = """
mutation($id: String!) { stopSensor(id: $id) { __typename ... on StopSensorMutationResult { instigationState { status } }
                                                ... on PythonError { message } } }
"""
START_SENSOR = """
mutation($sel: SensorSelector!) { startSensor(sensorSelector: $sel) { __typename ... on Sensor { sensorState { status } }
                                                                      ... on PythonError { message } } }
"""
CHECK_EXECUTIONS = """
query($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) {
    runId status
    evaluation { success severity description
                 metadataEntries { label ... on JsonMetadataEntry { jsonString } } }
  }
}
"""


# --- the webhook ---------------------------------------------------------------------------------------------


class Webhook:
    """A local HTTP server recording each POSTed JSON body with the time it arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with hook._lock:
                    hook.received.append((time.time(), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self, after: float = 0.0) -> list[dict[str, Any]]:
        with self._lock:
            return [body for ts, body in self.received if ts > after]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the stack -----------------------------------------------------------------------------------------------


def asset_names() -> list[str]:
    from consoleme_assets.definitions import defs
    from consoleme_assets.lib.freshness import materializable_asset_names

    return materializable_asset_names(defs)


def built_from_accounts() -> set[str]:
    """The unpartitioned assets built from a per-account one: not built until it was refreshed."""
    from consoleme_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string()
        for key in graph.materializable_asset_keys
        if not graph.get(key).is_partitioned
        and any(graph.get(parent).is_partitioned for parent in graph.get_ancestor_asset_keys(key))
    }


def write_config(path: Path, names: list[str], webhook_url: str, ui_base_url: str) -> Path:
    """A ConsoleMe config file: the sandbox's, plus short windows for every asset and the webhook."""
    path.write_text(
        yaml.safe_dump(
            {
                "extends": [str(SANDBOX_CONFIG)],
                # Only this test refreshes anything: no runs from the sandbox's queued role-change events either.
                "celery": {"trigger_credential_mapping_refresh_from_role_changes": {"enabled": False}},
                "consoleme_assets": {
                    "ui_base_url": ui_base_url,
                    "alerts": {
                        "notifiers": ["log", "webhook"],
                        "webhook_url": webhook_url,
                        "sensor_interval_seconds": ALERT_INTERVAL_SECONDS,
                    },
                    "freshness": {n: {"warn_minutes": WARN_MINUTES, "fail_minutes": FAIL_MINUTES} for n in names},
                },
            }
        )
    )
    return path


class Stack:
    def __init__(self, tmp_path: Path):
        self.artifacts = artifacts_dir("staleness")
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.started: list[Service] = []
        self.webhook = Webhook()
        self.names = asset_names()
        self.sandbox, sandbox_env = start_sandbox(self.logs)
        self.started.append(self.sandbox)
        self.redis_url = sandbox_env["REDIS_URL"]
        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")
        self.env = sandbox_base(sandbox_env)
        port = free_port()  # alert links name the UI: the config needs the port before the webserver starts
        config = write_config(tmp_path / "consoleme.yaml", self.names, self.webhook.url, f"http://127.0.0.1:{port}")
        self.env["CONSOLEME_ASSETS_CONFIG"] = str(config)
        self.env["FRESHNESS_DAEMON_INTERVAL_SECONDS"] = str(FRESHNESS_INTERVAL_SECONDS)
        # Create the instance's storage once, first: the webserver and the daemon starting on an empty home at the
        # same moment race on its alembic migrations ("more than one head present").
        subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "instance", "migrate"],
            check=True,
            env={**self.env, "DAGSTER_HOME": str(self.home)},
            capture_output=True,
            timeout=300,
        )
        self.web = DagsterWebserver(self.home, self.env, self.logs, port=port)
        self.started.append(self.web)
        self.web.wait_serving()
        # Before the daemon first runs: the schedules off (a 5-minute one firing during setup would refresh, or
        # fail and alert, at a moment the test does not choose), and the alert sensor off until the first
        # refresh has landed (a slow first refresh on a busy machine would otherwise be judged against the short
        # windows from the sensor's first tick; that rule has its own test in observability_tests:
        # test_new_install_is_not_stale_before_it_could_refresh).
        stop_schedules(self)
        stop_alert_sensor(self)
        self.daemons: list[DagsterDaemon] = []
        self.start_daemon()
        self.wait_daemon_healthy()

    @property
    def daemon(self) -> DagsterDaemon:
        return self.daemons[-1]

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.web, self.sandbox, *(d for d in getattr(self, "daemons", []) if d.running()))

    def start_daemon(self) -> None:
        daemon = DagsterDaemon(self.home, self.env, self.logs, name=f"dagster-daemon-{len(self.daemons) + 1}")
        self.daemons.append(daemon)
        self.started.append(daemon)

    def wait_daemon_healthy(self) -> None:
        wait_for("the daemon's heartbeats", self.web.daemons_healthy, 300, logs=self.services, interval=2)
        self.daemon.remember_children()

    def stop(self) -> None:
        for service in reversed(self.started):
            service.stop()
        self.webhook.close()
        for service in self.started:
            shutil.copy(service.log_path, self.artifacts / service.log_path.name)
        assert_no_orphans(*self.started)
        ignored = [s.name for s in self.started if s.killed]
        assert not ignored, f"ignored SIGTERM and had to be SIGKILLed: {ignored}"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.stop()


# --- GraphQL steps -------------------------------------------------------------------------------------------


REPO_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}


def stop_schedules(stack: Stack) -> list[str]:
    results = stack.web.graphql(SCHEDULES, {"repo": REPO_SELECTOR})["schedulesOrError"]["results"]
    for schedule in results:
        if schedule["scheduleState"]["status"] == "RUNNING":
            out = stack.web.graphql(STOP_SCHEDULE, {"id": schedule["scheduleState"]["id"]})["stopRunningSchedule"]
            assert out["__typename"] == "ScheduleStateResult", out
    after = stack.web.graphql(SCHEDULES, {"repo": REPO_SELECTOR})["schedulesOrError"]["results"]
    assert {s["scheduleState"]["status"] for s in after} == {"STOPPED"}, after
    return [s["name"] for s in after]


def asset_nodes(stack: Stack) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in stack.web.graphql(ASSETS_FRESHNESS)["assetNodes"]}


# The test's runs execute their steps in the run worker itself, not one subprocess per step (the default, which
# test_operations.py and test_dagster_dev.py exercise): a refresh of everything then takes a fraction of the time, so the windows can be
# short without the first-refreshed assets going stale before the last ones land.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def launch(stack: Stack, assets: list[str], tags: dict[str, str] | None = None) -> str:
    params = {
        "selector": {**REPO_SELECTOR, "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": [a]} for a in assets]},
        "mode": "default",
        "runConfigData": IN_PROCESS,
        "executionMetadata": {
            "tags": [{"key": k, "value": v} for k, v in {"e2e": "staleness", **(tags or {})}.items()]
        },
    }
    result = _check_typename(
        stack.web.graphql(LAUNCH_RUN, {"params": params})["launchRun"],
        "LaunchRunSuccess",
        f"launchRun({assets})",
        stack.web,
    )
    return result["run"]["runId"]


def launch_job(stack: Stack, job: str) -> str:
    # observability_checks_job already runs in one process (its own executor): no executor config for it.
    config = {} if job == "observability_checks_job" else IN_PROCESS
    params = {"selector": {**REPO_SELECTOR, "pipelineName": job}, "mode": "default", "runConfigData": config}
    result = _check_typename(
        stack.web.graphql(LAUNCH_RUN, {"params": params})["launchRun"],
        "LaunchRunSuccess",
        f"launchRun({job})",
        stack.web,
    )
    return result["run"]["runId"]


def materialize_everything(stack: Stack, per_account: list[str]) -> list[str]:
    """Every asset, in three runs through the queue: the roots, the per-account assets over every account
    partition (one run, as the schedules do), then the assets built from them. Returns the partitions."""
    nodes = asset_nodes(stack)
    derived = built_from_accounts() & set(nodes)
    roots = sorted(set(stack.names) - set(per_account) - derived)
    first = launch(stack, roots)

    def partitions():
        node = stack.web.graphql(PARTITION_KEYS, {"path": [per_account[0]]})["assetNodeOrError"]
        return node["partitionKeys"]

    # The discovery sensor adds the partitions on its first tick; aws_accounts (in the first run) does too.
    accounts = sorted(wait_for("the aws_accounts partitions", partitions, 300, logs=stack.services))
    second = launch(
        stack,
        per_account,
        {"dagster/asset_partition_range_start": accounts[0], "dagster/asset_partition_range_end": accounts[-1]},
    )
    for run_id in (first, second):
        wait_for_run(stack.web, run_id, 600, stack.services)
    wait_for_run(stack.web, launch(stack, sorted(derived)), 600, stack.services)
    return accounts


def last_materialized(stack: Stack) -> dict[str, float | None]:
    """Each asset's latest materialization time (of any partition), in seconds."""
    nodes = stack.web.graphql("{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { timestamp } } }")
    return {
        "/".join(n["assetKey"]["path"]): (
            int(n["assetMaterializations"][0]["timestamp"]) / 1000 if n["assetMaterializations"] else None
        )
        for n in nodes["assetNodes"]
    }


def freshness(stack: Stack) -> dict[str, str | None]:
    return {name: (n["freshnessStatusInfo"] or {}).get("freshnessStatus") for name, n in asset_nodes(stack).items()}


def wait_freshness(stack: Stack, state: str, timeout: float = 180) -> dict[str, str | None]:
    want = FRESHNESS[state]

    def all_in_state():
        now = freshness(stack)
        return all(now.get(n) == want for n in stack.names) and now

    return wait_for(f"every asset's freshness to be {want}", all_in_state, timeout, logs=stack.services, interval=3)


def alert_sensor(stack: Stack) -> dict:
    sel = {**REPO_SELECTOR, "sensorName": ALERT_SENSOR}
    sensor = stack.web.graphql(SENSOR_TICKS, {"sel": sel})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    return sensor


def alert_ticks(stack: Stack) -> list[dict]:
    return alert_sensor(stack)["sensorState"]["ticks"]


def stop_alert_sensor(stack: Stack) -> None:
    out = stack.web.graphql(STOP_SENSOR, {"id": alert_sensor(stack)["sensorState"]["id"]})["stopSensor"]
    assert out["__typename"] == "StopSensorMutationResult" and out["instigationState"]["status"] == "STOPPED", out


def start_alert_sensor(stack: Stack) -> None:
    out = stack.web.graphql(START_SENSOR, {"sel": {**REPO_SELECTOR, "sensorName": ALERT_SENSOR}})["startSensor"]
    assert out["__typename"] == "Sensor" and out["sensorState"]["status"] == "RUNNING", out


def ticks_between(stack: Stack, after: float, before: float) -> list[dict]:
    """The completed ticks of the alert sensor that started in (after, before)."""
    return [t for t in alert_ticks(stack) if after < t["timestamp"] < before and t["status"] != "STARTED"]


def wait_alert_tick(stack: Stack, after: float, timeout: float = 240) -> dict:
    """The first completed tick of the alert sensor that started after ``after``; a failed tick fails the test."""

    def done():
        ticks = [t for t in alert_ticks(stack) if t["timestamp"] > after and t["status"] != "STARTED"]
        for t in ticks:
            if t["status"] == "FAILURE":
                raise AssertionError(f"{ALERT_SENSOR} tick failed: {t['error']}")
        return min(ticks, key=lambda t: t["timestamp"]) if ticks else None

    return wait_for(f"a {ALERT_SENSOR} tick after {after:.0f}", done, timeout, logs=stack.services, interval=3)


def check_evaluation(stack: Stack, asset: str, check: str, run_id: str) -> dict:
    """The check's evaluation in run ``run_id``."""

    def latest():
        found = stack.web.graphql(CHECK_EXECUTIONS, {"key": {"path": [asset]}, "name": check})["assetCheckExecutions"]
        return found and found[0]["runId"] == run_id and found[0]["evaluation"] and found[0]

    execution = wait_for(f"an evaluation of {asset}:{check}", latest, 120, logs=stack.services, interval=2)
    evaluation = execution["evaluation"]
    evaluation["metadata"] = {
        e["label"]: json.loads(e["jsonString"]) for e in evaluation["metadataEntries"] if "jsonString" in e
    }
    return evaluation


# --- the test ------------------------------------------------------------------------------------------------


def test_daemon_stopped_two_cadences_flags_stale_assets_and_alerts_once(stack: Stack):
    timings: dict[str, float] = {}
    t_start = time.monotonic()
    web, hook = stack.web, stack.webhook
    nodes = asset_nodes(stack)
    per_account = sorted(
        n for n, node in nodes.items() if (node["partitionDefinition"] or {}).get("name") == "aws_accounts"
    )
    assert per_account and set(stack.names) <= set(nodes), (per_account, sorted(nodes))
    for name in stack.names:  # the settings' windows are what Dagster evaluates
        policy = nodes[name]["internalFreshnessPolicy"]
        assert policy == {"failWindowSeconds": FAIL_MINUTES * 60, "warnWindowSeconds": WARN_MINUTES * 60}, (
            name,
            policy,
        )
    assert alert_sensor(stack)["minIntervalSeconds"] == ALERT_INTERVAL_SECONDS  # the settings' interval too

    # 1. Everything refreshed: fresh, and a sensor tick after the last materialization sends nothing.
    for attempt in (1, 2):
        accounts = materialize_everything(stack, per_account)
        timings[f"materialize_{attempt}"] = time.monotonic() - t_start
        last = last_materialized(stack)
        assert all(last[n] for n in stack.names), last
        newest, oldest = max(last[n] for n in stack.names), min(last[n] for n in stack.names)
        if time.time() < oldest + WARN_MINUTES * 60 - CHECK_SECONDS:
            break  # else the machine is too slow for these windows right now: everything again, warm
    start_alert_sensor(stack)
    wait_freshness(stack, "PASS")
    tick = wait_alert_tick(stack, after=newest)
    assert tick["skipReason"] == "0 alert(s) sent", tick
    assert time.time() < oldest + WARN_MINUTES * 60, "the first refresh went stale before the check: windows too short"
    assert freshness(stack) == {n: "HEALTHY" for n in nodes}, freshness(stack)
    assert hook.bodies() == [], hook.bodies()

    # 2. The daemon stopped until the newest refresh is past the fail window ("two cadences").
    t_stop = time.time()
    stack.daemon.stop()
    assert not stack.daemon.killed, "dagster-daemon ignored SIGTERM"
    stale_at = newest + FAIL_MINUTES * 60 + 5  # the restart itself takes longer than the daemons' intervals
    while time.time() < stale_at:
        time.sleep(min(10.0, max(0.0, stale_at - time.time())))
        assert web.graphql("{ version }")["version"], "the webserver must stay up without the daemon"
    assert hook.bodies() == [], "alerts sent while the daemon was stopped"
    timings["daemon_stopped"] = time.time() - t_stop

    # 3. The daemon back: the UI's state is FAIL everywhere; one alert per asset; the check names the accounts.
    t_restart = time.time()
    stack.start_daemon()
    # The per-account check (on a schedule in production; launched here) runs meanwhile: every asset is past
    # its fail window already, and the queue holds the run until the daemon is up.
    check_run = launch_job(stack, "observability_checks_job")
    stack.wait_daemon_healthy()
    states = wait_freshness(stack, "FAIL")
    first_tick = wait_alert_tick(stack, after=t_restart)
    alerts = hook.bodies()
    (stack.artifacts / "alerts-stale.json").write_text(json.dumps(alerts, indent=2))
    assert first_tick["skipReason"] == f"{len(stack.names)} alert(s) sent", (first_tick, alerts)
    assert Counter(a["asset"] for a in alerts) == Counter(stack.names), alerts
    for alert in alerts:
        name = alert["asset"]
        assert (alert["kind"], alert["state"], alert["previous_state"]) == ("freshness", "FAIL", "PASS"), alert
        assert alert["url"] == f"{web.url}/assets/{name}", alert
        assert alert["subject"] == f"[consoleme-assets] {name}: FAIL", alert
        assert f"{name} is stale, FAIL (was PASS): last refreshed" in alert["message"], alert
        assert f"warn after {WARN_MINUTES} min, fail after {FAIL_MINUTES} min" in alert["message"], alert
        assert alert["details"]["age_seconds"] >= FAIL_MINUTES * 60, alert
        if name in per_account:
            assert alert["accounts"] == accounts, alert
            assert f"{len(accounts)} of {len(accounts)} account(s) stale" in alert["message"], alert
            for account in accounts:
                assert f"{account} FAIL (" in alert["message"] and "min old)" in alert["message"], alert
        else:
            assert alert["accounts"] == [], alert
    timings["alerted_after_restart"] = time.time() - t_restart

    # The per-account check names every account.
    wait_for_run(web, check_run, 600, stack.services)
    for name in per_account:
        evaluation = check_evaluation(stack, name, PER_ACCOUNT_CHECK, check_run)
        assert evaluation["success"] is False and evaluation["severity"] == "ERROR", (name, evaluation)
        assert evaluation["metadata"]["failing_accounts"] == accounts, (name, evaluation)
        assert f"{len(accounts)} of {len(accounts)} accounts stale" in evaluation["description"], evaluation
    coverage = check_evaluation(stack, "iam_resources", "covers_all_accounts", check_run)
    assert coverage["success"] is True, coverage  # stale, but every account's roles are still cached

    # The stale state on the asset page, for people (first-run pop-up dismissed as the UI's Skip does).
    assert web.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    shot, shown = screenshot_stale(
        web.url, stack.artifacts, "s3_buckets" if "s3_buckets" in per_account else per_account[0]
    )

    # No duplicates on the next ticks (every tick since the first, which ran every few seconds meanwhile).
    later = wait_alert_tick(stack, after=first_tick["timestamp"] + 1)
    since = ticks_between(stack, first_tick["timestamp"], time.time() + 60)
    assert later in since and {t["skipReason"] for t in since} == {"0 alert(s) sent"}, since
    assert len(hook.bodies()) == len(stack.names), hook.bodies()

    # 4. Refreshed again: exactly one recovery alert per asset, and no further alert. The sensor is off while the
    # refresh runs: a tick in the middle of a per-account asset's run sees some of its accounts fresh and sends a
    # FAIL naming the rest (one alert per change of the stale-account set, by design).
    stop_alert_sensor(stack)
    t_refresh = time.time()
    materialize_everything(stack, per_account)
    start_alert_sensor(stack)
    wait_freshness(stack, "PASS")

    def recovered():
        back = hook.bodies(after=t_refresh)
        return Counter(a["asset"] for a in back) == Counter(stack.names) and back

    back = wait_for("one recovery alert per asset", recovered, 300, logs=stack.services, interval=3)
    settled = wait_alert_tick(stack, after=time.time())
    assert settled["skipReason"] == "0 alert(s) sent", settled
    back = hook.bodies(after=t_refresh)
    (stack.artifacts / "alerts-recovered.json").write_text(json.dumps(back, indent=2))
    assert Counter(a["asset"] for a in back) == Counter(stack.names), back
    for alert in back:
        assert (alert["state"], alert["previous_state"]) == ("PASS", "FAIL"), alert
        assert alert["message"].startswith(f"{alert['asset']} is fresh again (was FAIL)"), alert
        if alert["asset"] in per_account:
            assert alert["accounts"] == accounts and alert["details"]["recovered_accounts"] == accounts, alert
    assert len(hook.bodies()) == 2 * len(stack.names), hook.bodies()
    timings["total"] = time.monotonic() - t_start
    (stack.artifacts / "result.json").write_text(
        json.dumps(
            {
                "timings": timings,
                "accounts": accounts,
                "assets": stack.names,
                "states_after_restart": states,
                "screenshot": str(shot),
                "asset_page_shows": shown,
            },
            indent=2,
        )
    )


def screenshot_stale(base_url: str, artifacts: Path, asset: str) -> tuple[Path, str]:
    """The asset page once it shows "Freshness policy: Failed" (the UI's words for DEGRADED)."""
    from .browser import screenshot_asset_page

    return screenshot_asset_page(base_url, artifacts, asset, r"Freshness policy\s+Failed")
