"""End to end on the production storage profile: the sandbox, ``dagster dev`` on PostgreSQL (deploy/dagster.yaml)
and, through GraphQL only, a materialization of ``aws_accounts`` and a backfill of every per-account asset over
every account; then Redis, automations and freshness. (The same on SQLite, with the UI in Chromium, is part of
test_operations.py, which starts the SQLite stack anyway.)"""

from __future__ import annotations

import json

import pytest

from .flow import check_automations, check_freshness, check_redis, run_flow

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_dagster_dev_postgres(stack):
    result = run_flow(stack.dev, stack.env["REDIS_URL"], stack.services)
    check_redis(stack.env["REDIS_URL"], result.accounts)
    check_automations(result)
    check_freshness(result)
    (stack.artifacts / "result.json").write_text(json.dumps(result.__dict__, indent=2, default=str))
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
