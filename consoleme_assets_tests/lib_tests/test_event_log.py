"""Pooling the event log's PostgreSQL connection: a real throwaway cluster (the e2e tests' PostgresServer) and
the production instance file, deploy/dagster.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from consoleme_assets.lib.event_log import pool_event_log_connections, uses_null_pool
from consoleme_assets_tests.e2e_tests.harness import PostgresServer, postgres_bindir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    if postgres_bindir() is None:
        pytest.skip("needs PostgreSQL server binaries")
    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    yield server
    server.stop()


def _sessions_opened(pg: PostgresServer, db: str) -> int:
    """Connections the server has accepted for `db` so far (each backend reports its session when it ends)."""
    conn = psycopg2.connect(host="127.0.0.1", port=pg.port, user=pg.USER, password=pg.PASSWORD, dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (db,))
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _materialize(instance: dg.DagsterInstance, count: int) -> None:
    for i in range(count):
        instance.report_runless_asset_event(dg.AssetMaterialization("pool_probe", metadata={"i": i}))


def test_postgres_event_log_is_pooled_once_and_still_records(pg, tmp_path, monkeypatch):
    pg.create_database("pooltest")
    for key, value in pg.env("pooltest").items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert uses_null_pool(instance)  # dagster-postgres' default: a new connection per write
        before = _sessions_opened(pg, "pooltest")
        _materialize(instance, 10)
        unpooled = _sessions_opened(pg, "pooltest") - before

        assert pool_event_log_connections(instance) is True
        assert not uses_null_pool(instance)
        assert pool_event_log_connections(instance) is False  # once: a second call keeps the pool it made
        before = _sessions_opened(pg, "pooltest")
        _materialize(instance, 10)
        pooled = _sessions_opened(pg, "pooltest") - before

        records = instance.fetch_materializations(dg.AssetKey("pool_probe"), limit=100).records
        assert sorted(r.asset_materialization.metadata["i"].value for r in records) == sorted([*range(10)] * 2)
    assert unpooled >= 8, unpooled  # at least one connection per event (each asset event opens two)
    assert pooled <= 3, pooled  # the kept connection (reported when it ends) and our own probes


def test_sqlite_instance_is_left_alone(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert not uses_null_pool(instance)
        assert pool_event_log_connections(instance) is False
