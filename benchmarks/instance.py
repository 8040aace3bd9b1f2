"""The Dagster instance a benchmark run records into: the single-machine SQLite profile (`dagster.yaml`) or
the production PostgreSQL profile (`deploy/dagster.yaml`) on a throwaway cluster.

Dagster writes one event per planned and per materialized account partition; on SQLite each is several
fsync'd commits into two files, on PostgreSQL one transaction over a kept connection. The throwaway cluster
starts with `fsync=off` (tests); it is switched back on here so commits cost what they cost in production.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def dagster_instance(kind: str, home: Path, workdir: Path) -> Iterator[dict[str, str]]:
    """Prepare $DAGSTER_HOME at `home`; yields the extra environment the runs need."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if kind == "sqlite":
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        yield {}
        return
    if kind != "postgres":
        raise ValueError(f"--dagster-storage: expected sqlite or postgres, got {kind!r}")
    import psycopg2

    from consoleme_assets_tests.e2e_tests.harness import PostgresServer  # the e2e tests' throwaway cluster

    server = PostgresServer(workdir)
    try:
        conn = psycopg2.connect(
            host="127.0.0.1", port=server.port, user=server.USER, password=server.PASSWORD, dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ALTER SYSTEM SET fsync = on")
            cur.execute("ALTER SYSTEM SET synchronous_commit = on")
            cur.execute("SELECT pg_reload_conf()")
        conn.close()
        server.create_database("bench")
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        # The postmaster, so a probe can count the server's CPU too (with no pool each write forks a backend).
        yield {**server.env("bench"), "BENCH_PG_SERVICE_PID": str(server.service.pid)}
    finally:
        server.stop()
