"""A split refresh launched as a person launches it, on a real distributed engine: with
`consoleme_assets.max_accounts_per_run: 1`, a backfill of `iam_resources` over every account launched through the
webserver's GraphQL (the UI's "Materialize" over all partitions) becomes one run per account
(`BackfillPolicy.multi_run`); the daemon submits them; the instance's run launcher, dagster-celery's
`CeleryRunLauncher` on the Redis broker, hands each to one of two `dagster-celery worker` processes (started as a
deployment starts them). Every run succeeds, both workers ran some, every account lands, and the combined files
are written once, by the run that completed the backfill (its run count read from the backfill). Small on
purpose: `benchmarks/celery_split.py` measures the speed-up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import pytest
import redis

from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG

from .celery import WORKER, instance_yaml, worker_argv
from .flow import LAUNCH_BACKFILL, wait_for_backfill
from .harness import BIN, DagsterDaemon, DagsterWebserver, Service, base_env, start_sandbox, wait_for

CLI_RUNS = """
query { runsOrError(filter: {tags: [{key: "consoleme_assets/cli", value: "refresh"}]}) {
  ... on Runs { results { status jobName } } } }
"""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TASK_ID_TAG = "dagster-celery/task_id"  # dagster_celery.tags.DAGSTER_CELERY_TASK_ID_TAG


def test_a_ui_backfill_splits_into_runs_on_two_celery_workers(tmp_path: Path):
    sandbox, sandbox_env = start_sandbox(tmp_path)
    started: list[Service] = [sandbox]
    try:
        home = tmp_path / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml(home))
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

        workers = [
            Service(f"worker{n}", worker_argv(BIN, tmp_path / "worker.yaml", f"worker{n}"), tmp_path, env)
            for n in (1, 2)
        ]
        started += workers
        web = DagsterWebserver(home, env, tmp_path)
        started.append(web)
        started.append(DagsterDaemon(home, env, tmp_path))
        for worker in workers:
            wait_for(f"{worker.name} ready", lambda w=worker: "ready." in w.log_path.read_text(), 120, logs=(worker,))
        web.wait_serving()

        with dg.DagsterInstance.from_config(str(home)) as instance:
            accounts = instance.get_dynamic_partitions("aws_accounts")
        assert len(accounts) >= 3
        # The CLI's run, as the UI's Runs page lists it: succeeded, tagged as the CLI's (its events streamed, not kept).
        cli_runs = web.graphql(CLI_RUNS)["runsOrError"]["results"]
        assert [(r["status"], r["jobName"]) for r in cli_runs] == [("SUCCESS", "__ephemeral_asset_job__")], cli_runs
        params = {"assetSelection": [{"path": ["iam_resources"]}], "partitionNames": accounts, "title": "split"}
        launched = web.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        runs = wait_for_backfill(web, launched["backfillId"], tuple(started), timeout=420)

        # One run per account (multi_run(1)), all succeeded (wait_for_backfill fails on any other end).
        assert len(runs) == len(accounts), runs
        tags = [{t["key"]: t["value"] for t in run["tags"]} for run in runs]
        assert sorted(t["dagster/asset_partition_range_start"] for t in tags) == sorted(accounts)
        # Each ran on a worker process, and both workers ran some (a worker holds one run: acks late, prefetch 1).
        ran = {w.name: sum(t[TASK_ID_TAG] in w.log_path.read_text() for t in tags) for w in workers}
        assert sum(ran.values()) == len(runs) and all(ran.values()), ran

        # Every account landed; the combined files were written once, by the run that completed the backfill.
        client = redis.Redis.from_url(sandbox_env["REDIS_URL"], decode_responses=True)
        assert set(accounts) <= {arn.split(":")[4] for arn in client.hkeys("IAM_ROLE_CACHE")}
        ids = {run["runId"] for run in runs}
        with dg.DagsterInstance.from_config(str(home)) as instance:
            records = instance.fetch_materializations(dg.AssetKey("iam_resources"), limit=100).records
        combined_by = {
            r.run_id for r in records if r.run_id in ids and "combined_s3_uris" in r.asset_materialization.metadata
        }
        assert len(combined_by) == 1, combined_by
    finally:
        for service in reversed(started):
            service.stop(grace=20)
