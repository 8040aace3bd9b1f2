"""A split refresh on a real distributed engine: the instance's run launcher is dagster-celery's
`CeleryRunLauncher` on the Redis broker, and two `dagster-celery worker` processes (started as a deployment starts
them) run the range runs. Every account lands, both workers ran ranges, and the combined files are written once,
by the launch's last run. Small on purpose: `benchmarks/` measures the speed-up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import pytest
import redis

from consoleme_assets.lib.ranges import LAUNCH_TAG, range_run_requests
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG

from .celery import INSTANCE, WORKER, launch_ranges, worker_argv
from .harness import BIN, Service, base_env, start_sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_split_refresh_runs_on_two_celery_workers(tmp_path: Path):
    sandbox, sandbox_env = start_sandbox(tmp_path)
    workers: list[Service] = []
    try:
        home = tmp_path / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE)
        (tmp_path / "worker.yaml").write_text(WORKER)
        config = tmp_path / "split.yaml"
        config.write_text(f"extends:\n  - {SANDBOX_CONFIG}\nconsoleme_assets:\n  max_accounts_per_run: 1\n")
        broker = sandbox_env["REDIS_URL"].rsplit("/", 1)[0]
        env = {
            **base_env(),
            **sandbox_env,
            "DAGSTER_HOME": str(home),
            "CONSOLEME_ASSETS_CONFIG": str(config),
            "DAGSTER_CELERY_BROKER_URL": f"{broker}/5",
            "DAGSTER_CELERY_BACKEND_URL": f"{broker}/6",
        }
        discovered = subprocess.run(
            [str(BIN / "consoleme-assets"), "refresh", "--select", "aws_accounts"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert discovered.returncode == 0, discovered.stdout + discovered.stderr

        for n in (1, 2):
            workers.append(
                Service(f"worker{n}", worker_argv(BIN, tmp_path / "worker.yaml", f"worker{n}"), tmp_path, env)
            )
        for worker in workers:
            wait_for(f"{worker.name} ready", lambda w=worker: "ready." in w.log_path.read_text(), 120, logs=(worker,))

        with dg.DagsterInstance.from_config(str(home)) as instance:
            accounts = instance.get_dynamic_partitions("aws_accounts")
            assert len(accounts) >= 3
            # What the iam schedule's tick asks for at max_accounts_per_run 1, launched through the instance.
            requests = range_run_requests(accounts, 1, "iam_every_45_minutes@test", run_key="test")
            launch_ranges(BIN, requests, env)

            def finished():
                runs = [r for r in instance.get_runs() if r.tags.get(LAUNCH_TAG) == "iam_every_45_minutes@test"]
                done = [r for r in runs if r.is_finished]
                return runs if len(done) == len(requests) else None

            runs = wait_for("every range run finished", finished, 300, logs=(*workers, sandbox), interval=1)
            assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, [(r.run_id, r.status) for r in runs]

            # Each worker process ran ranges (a worker holds one task at a time: acks late, prefetch 1).
            ran = {w.name: w.log_path.read_text().count("succeeded in") for w in workers}
            assert all(count >= 1 for count in ran.values()) and sum(ran.values()) == len(requests), ran

            # Every account landed; the combined files were written once, by the run that completed the launch.
            client = redis.Redis.from_url(sandbox_env["REDIS_URL"], decode_responses=True)
            cached_accounts = {arn.split(":")[4] for arn in client.hkeys("IAM_ROLE_CACHE")}
            assert set(accounts) <= cached_accounts
            launch_runs = {r.run_id for r in runs}
            combined_by = {
                record.run_id
                for record in instance.fetch_materializations(dg.AssetKey("iam_resources"), limit=100).records
                if "combined_s3_uris" in record.asset_materialization.metadata and record.run_id in launch_runs
            }
            assert len(combined_by) == 1, combined_by
    finally:
        for worker in workers:
            worker.stop(grace=20)
        sandbox.stop()
