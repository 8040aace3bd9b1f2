"""End to end: the sandbox, ``dagster dev`` (webserver + daemon) and, through GraphQL only, a materialization
of ``aws_accounts`` and a backfill of every per-account asset over every account; then Redis, automations,
freshness, the UI in headless Chromium (SQLite profile), and PostgreSQL storage (deploy/dagster.yaml)."""

from __future__ import annotations

import json

import pytest
import redis

from .flow import run_flow

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def check_redis(redis_url: str, accounts: list[str]) -> None:
    """The caches the backfill wrote, in ConsoleMe's shapes, for every account partition."""
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


def check_automations(result) -> None:
    """Every schedule and sensor of the code is registered, in the state its definition asks for (RUNNING
    unless it says otherwise), and the ones that start RUNNING are indeed running."""
    from consoleme_assets.definitions import defs

    expected_schedules = {s.name: s.default_status.value for s in defs.schedules}
    expected_sensors = {s.name: s.default_status.value for s in defs.sensors}
    assert result.schedules == expected_schedules, result.schedules
    assert result.sensors == expected_sensors, result.sensors
    assert "RUNNING" in result.schedules.values(), result.schedules
    assert result.sensors.get("aws_account_discovery_sensor") == "RUNNING", result.sensors


def check_freshness(result) -> None:
    assert set(result.freshness) >= set(result.per_account_assets) | {"aws_accounts"}
    with_policy = {key: f for key, f in result.freshness.items() if f["policy"]}
    for key, state in with_policy.items():
        # The FreshnessDaemon evaluates every ~30 s; right after a refresh the state is PASS or not yet known.
        assert state["status"] is not None, key
        assert state["status"]["freshnessStatus"] in {"HEALTHY", "WARNING", "DEGRADED", "UNKNOWN", "NOT_APPLICABLE"}
    for key, state in result.freshness.items():
        if not state["policy"]:
            assert state["status"] is None, key


def _flow(stack):
    result = run_flow(stack.dev, stack.env["REDIS_URL"], stack.services)
    check_redis(stack.env["REDIS_URL"], result.accounts)
    check_automations(result)
    check_freshness(result)
    (stack.artifacts / "result.json").write_text(json.dumps(result.__dict__, indent=2, default=str))
    return result


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_dagster_dev_sqlite_with_browser(stack):
    result = _flow(stack)
    from .browser import check_ui

    # First-run pop-up ("Join the Dagster community") dismissed through the API, as the UI's Skip does.
    assert stack.dev.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    assert stack.dev.graphql("{ shouldShowNux }")["shouldShowNux"] is False
    nodes = stack.dev.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    shots = check_ui(stack.dev.url, stack.artifacts, groups, result.per_account_assets, result.accounts)
    assert all(path.stat().st_size > 10_000 for path in shots.values()), shots


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_dagster_dev_postgres(stack):
    _flow(stack)
    # The instance really is on PostgreSQL: the runs and the partitions are in its tables.
    import psycopg2

    pg = stack.postgres
    with (
        psycopg2.connect(
            host="127.0.0.1", port=pg.port, user=pg.USER, password=pg.PASSWORD, dbname="dagster_e2e"
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] >= 2
        cur.execute("SELECT count(*) FROM dynamic_partitions WHERE partitions_def_name = 'aws_accounts'")
        assert cur.fetchone()[0] >= 1
    assert not list(stack.dev.dagster_home.glob("history/runs.db")), "runs went to SQLite"
