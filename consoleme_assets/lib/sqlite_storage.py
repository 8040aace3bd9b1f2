"""Dagster's SQLite storage with its engines kept, for `make dev` and `consoleme-assets refresh`.

Dagster's SQLite event log builds a new SQLAlchemy engine for every statement batch (an asset event takes
several: the run's shard, then the cross-run index) and drops it after, so SQLAlchemy compiles every statement
again; it also opens and closes a SQLite connection each time. A per-account refresh writes two asset events per
account and dataset. Here each shard keeps its engine, the index shard keeps one open connection as well, and the
run storage keeps its engine. `python -m benchmarks.event_cost --partitions 600` on each instance file (quiet
machine): 14.8-15.3 ms of wall and 11.6-12.0 ms of CPU per partition with Dagster's storage, 7.6-7.8 and 5.7-5.9
here (benchmarks/report.md).

A run's shard still gets a connection per write, closed after it, as Dagster has it. Dagster puts every shard in
WAL mode, and the UI follows a running run by watching its shard's `.db` file: only the last connection's close
checkpoints the write into that file. A connection kept open would leave the run page silent until SQLite's
automatic checkpoint (`lib_tests/test_sqlite_storage.py` shows it, one write at a time). Nothing else changes:
the files and their layout (`storage: sqlite` reads the same directory), durability, and the one statement batch
at a time per storage. Engines are per process: a forked child drops its parent's without closing their
connections. Production deployments use PostgreSQL (deploy/), where lib/event_log.py pools the connection instead.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.pool import NullPool, QueuePool

from .dagster_private import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    DagsterSqliteStorage,
    SqliteEventLogStorage,
    SqliteRunStorage,
    create_storage_engine,
)

KEPT_ENGINES = 8  # the index shard and the shards of the runs this process writes or reads


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """One engine per shard file; the index's keeps its connection open. The rest is Dagster's."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Any] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)
        # has_table below takes the lock, which Dagster's did not: a call from inside `_connect` must not deadlock.
        self._db_lock = threading.RLock()

    def _engine(self, shard: str) -> Any:
        if self._engines_pid != os.getpid():  # a forked child: the parent's connections are not ours to use
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        conn_string = self.conn_string_for_shard(shard)
        engine = self._engines.get(conn_string)
        if engine is None:
            # pool_size 1: `_db_lock` lets one statement batch at a time use the storage; the overflow is slack.
            pooled = {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 2}
            engine = create_storage_engine(
                conn_string,
                **(pooled if shard == INDEX_SHARD_NAME else {"poolclass": NullPool}),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            self._engines[conn_string] = engine
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(conn_string)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:  # as Dagster's, with the engine kept
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before every dynamic-partitions call, with an engine made for the question. A table, once
        there, stays (until a wipe)."""
        if table_name not in self._tables_seen:
            with self._db_lock:
                engine = self._engine(INDEX_SHARD_NAME)
                with engine.connect() as conn:
                    if engine.dialect.has_table(conn, table_name):
                        self._tables_seen.add(table_name)
        return table_name in self._tables_seen

    def _drop_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
            self._tables_seen.clear()

    def wipe(self) -> None:
        self._drop_engines()  # Dagster deletes the run shards' files: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._drop_engines()
        super().dispose()


class KeptEngineSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage with its engine kept per process (it makes one per connection)."""

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if getattr(self, "_engine_pid", None) != os.getpid():
            self._kept_engine = create_storage_engine(self._conn_string, poolclass=NullPool)
            self._engine_pid = os.getpid()
        with self._kept_engine.connect() as conn:
            with conn.begin():
                yield conn


class PooledSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite` with the pooled event log and the kept run-storage engine: same `base_dir`, same files.

    dagster.yaml: `storage: {custom: {module: consoleme_assets.lib.sqlite_storage, class: PooledSqliteStorage,
    config: {base_dir: ...}}}`.
    """

    def __init__(self, base_dir: str, inst_data: Any = None):
        super().__init__(base_dir, inst_data=inst_data)  # Dagster's layout, its files created and migrated
        plain = self._event_log_storage
        plain.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(plain._base_dir)
        self._run_storage = KeptEngineSqliteRunStorage(self._run_storage._conn_string)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteStorage:  # type: ignore[override]
        return cls.from_local(inst_data=inst_data, **config_value)
