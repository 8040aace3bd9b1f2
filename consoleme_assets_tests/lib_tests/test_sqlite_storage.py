"""The pooled SQLite storage of the repo's dagster.yaml: the same files as `storage: sqlite`, far fewer connections,
and a running run still followed through its shard file (what the UI's run page relies on)."""

import multiprocessing
import shutil
import threading
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import event
from sqlalchemy.pool import Pool

from consoleme_assets.lib.sqlite_storage import PooledSqliteEventLogStorage

REPO = Path(__file__).resolve().parents[2]
PROBE = dg.DynamicPartitionsDefinition(name="sqlite_pool_probe")


@dg.asset(partitions_def=PROBE, output_required=False, backfill_policy=dg.BackfillPolicy.single_run())
def sqlite_pool_probe(context: dg.AssetExecutionContext):
    for key in context.partition_keys:  # one materialization per partition, as a per-account refresh yields
        yield dg.AssetMaterialization(context.asset_key, partition=key, metadata={"account_id": key})


def _home(tmp_path: Path, monkeypatch, config: str | None = None) -> Path:
    home = tmp_path / ("home" if config is None else "plain")
    home.mkdir()
    if config is None:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(config)
    return home


def _refresh(instance: dg.DagsterInstance, keys: list[str]) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(PROBE.name, keys)
    return dg.materialize(
        [sqlite_pool_probe],
        instance=instance,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )


@pytest.fixture
def connects():
    """SQLite connections opened while the test runs, each "connect" or "engine" (a pool's first connection: one
    per engine made). Every pool's events, Dagster's NullPool included."""
    opened: list[str] = []

    def connected(*_):
        opened.append("connect")

    def engine_made(*_):
        opened.append("engine")

    event.listen(Pool, "connect", connected)
    event.listen(Pool, "first_connect", engine_made)
    yield opened
    event.remove(Pool, "connect", connected)
    event.remove(Pool, "first_connect", engine_made)


def _connects_per_refresh(instance: dg.DagsterInstance, connects: list[int], sizes: tuple[int, ...], base: int):
    """Connections opened by one range refresh of each size, after a warm-up refresh."""
    _refresh(instance, [f"{base}"])
    counts = []
    for n, size in enumerate(sizes):
        connects.clear()
        assert _refresh(instance, [f"{base + 1000 * (n + 1) + i}" for i in range(size)]).success
        counts.append((connects.count("connect"), connects.count("engine")))
    return counts


def test_the_repo_instance_keeps_its_connections_and_plain_sqlite_reads_what_it_wrote(tmp_path, monkeypatch, connects):
    home = _home(tmp_path, monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        small, large = _connects_per_refresh(instance, connects, (2, 40), 900000000000)
    # 76 more asset events (planned, materialized) on the larger run: one connection each, the run shard's (closed
    # after each write, so that the UI following the run sees it: test below); the index's is kept. No engine more,
    # and none per run-storage connection either (Dagster makes one each time: a dozen per run).
    assert large[0] - small[0] <= 76 + 2, (small, large)
    assert large[1] - small[1] <= 0, (small, large)
    assert small[1] <= 2, small  # the new run's shard, and nothing else

    # `storage: sqlite` on the same directory: the files are Dagster's own, and its storage connects per write.
    plain_config = yaml.safe_dump({"telemetry": {"enabled": False}, "storage": {"sqlite": {"base_dir": str(home)}}})
    plain = _home(tmp_path, monkeypatch, plain_config)
    with dg.DagsterInstance.from_config(str(plain)) as instance:
        assert not isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 3  # the run storage's file
        keys = [f"{900000000000 + 2000 + i}" for i in range(40)]
        status = instance.get_status_by_partition(dg.AssetKey("sqlite_pool_probe"), keys, PROBE)
        assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
        small, large = _connects_per_refresh(instance, connects, (2, 10), 910000000000)
    # 16 more asset events: Dagster's storage makes an engine and opens a connection for each shard it writes.
    assert large[1] - small[1] >= 2 * 16, ("Dagster's SQLite storage no longer makes an engine per write", small, large)


def test_a_watcher_sees_each_event_another_process_writes(tmp_path, monkeypatch):
    """The UI follows a live run by watching its shard's file: each write through a kept connection must land in
    that file as it happens (a WAL journal would hold it in another file until a checkpoint)."""
    home = _home(tmp_path, monkeypatch)
    run_id = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    with dg.DagsterInstance.from_config(str(home)) as instance:
        seen: list[str] = []
        changed = threading.Condition()

        def callback(entry, _cursor):
            with changed:
                seen.append(entry.user_message)
                changed.notify_all()

        instance.watch_event_logs(run_id, None, callback)
        ctx = multiprocessing.get_context("spawn")
        go = ctx.Queue()
        writer = ctx.Process(target=_write_events, args=(str(home), run_id, 3, go))
        writer.start()
        try:
            for i in range(3):  # one write at a time, each seen before the next, the writer's connection open
                go.put(i)
                with changed:
                    assert changed.wait_for(lambda i=i: len(seen) > i, timeout=60), f"the watcher saw {seen}"
        finally:
            go.put(None)
            writer.join(60)
        instance.end_watch_event_logs(run_id, callback)
    assert writer.exitcode == 0
    assert seen == ["probe 0", "probe 1", "probe 2"]


def _write_events(home: str, run_id: str, count: int, go) -> None:
    from dagster._core.events.log import EventLogEntry

    with dg.DagsterInstance.from_config(home) as instance:
        while (i := go.get(timeout=120)) is not None:
            instance.event_log_storage.store_event(
                EventLogEntry(
                    error_info=None, level="INFO", user_message=f"probe {i}", run_id=run_id, timestamp=float(i)
                )
            )


def test_a_wipe_drops_the_kept_connections_and_the_storage_still_works(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        keys = [f"{920000000000 + i}" for i in range(3)]
        assert _refresh(instance, keys).success
        instance.wipe()
        assert _refresh(instance, keys).success
        status = instance.get_status_by_partition(dg.AssetKey("sqlite_pool_probe"), keys, PROBE)
        assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
