"""The production profiles that cannot run here (Kubernetes, Celery), validated with Dagster's own config
schemas; the PostgreSQL profile also runs for real in test_dagster_dev.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

from .harness import REPO

DEPLOY = REPO / "deploy"
PG_ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "secret",
    "DAGSTER_PG_DB": "dagster",
}


def load_instance_config(path: Path, tmp_path: Path, monkeypatch) -> dict:
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(path, home / "dagster.yaml")
    config, _ = dagster_instance_config(str(home))  # validates against the instance schema (raises on error)
    return config


def assert_valid(config_type, value, what: str) -> None:
    result = validate_config(config_type, value)
    assert result.success, f"{what}: " + "; ".join(e.message for e in result.errors)


@pytest.mark.parametrize("profile", ["dagster.yaml", "k8s/dagster.yaml"])
def test_instance_profiles_validate(profile, tmp_path, monkeypatch):
    config = load_instance_config(DEPLOY / profile, tmp_path, monkeypatch)
    assert set(config["storage"]) == {"postgres"}
    db = config["storage"]["postgres"]["postgres_db"]
    assert all("env" in db[key] for key in ("hostname", "port", "username", "password", "db_name")), db
    assert db["scheme"] == "postgresql+psycopg2", "SQLAlchemy 2.1 would pick psycopg 3, which is not installed"

    # Each pluggable class's own config schema, as DagsterInstance would check it when instantiating.
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    for storage in (PostgresRunStorage, PostgresEventLogStorage, PostgresScheduleStorage):
        assert_valid(storage.config_type(), config["storage"]["postgres"], storage.__name__)


def test_same_concurrency_limits_everywhere(tmp_path, monkeypatch):
    """dev (dagster.yaml), VM (deploy/dagster.yaml), Kubernetes (k8s/dagster.yaml and Helm values) agree."""
    dev = yaml.safe_load((REPO / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    vm = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["concurrency"]
    k8s = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())["concurrency"]
    helm = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    queued = helm["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert vm["runs"]["tag_concurrency_limits"] == dev == k8s["runs"]["tag_concurrency_limits"]
    assert queued["tagConcurrencyLimits"] == dev
    assert queued["maxConcurrentRuns"] == vm["runs"]["max_concurrent_runs"] == k8s["runs"]["max_concurrent_runs"]
    assert helm["concurrency"]["pools"]["defaultLimit"] == vm["pools"]["default_limit"] == k8s["pools"]["default_limit"]


def test_k8s_run_launcher_config(tmp_path, monkeypatch):
    from dagster_k8s import K8sRunLauncher

    config = load_instance_config(DEPLOY / "k8s" / "dagster.yaml", tmp_path, monkeypatch)
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert_valid(K8sRunLauncher.config_type(), launcher["config"], "K8sRunLauncher")
    # A typo is caught by the same validation (the test would notice a schema that accepts anything).
    bad = {**launcher["config"], "job_namespaec": "x"}
    assert not validate_config(K8sRunLauncher.config_type(), bad).success


def test_helm_values_match_the_rendered_instance():
    """What Helm renders from values.yaml must be what k8s/dagster.yaml (validated above) says."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    k8s = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    chart = launcher["config"]["k8sRunLauncher"]
    rendered = k8s["run_launcher"]["config"]
    assert chart["jobNamespace"] == rendered["job_namespace"]
    assert [s["name"] for s in chart["envSecrets"]] == rendered["env_secrets"]
    assert [c["name"] for c in chart["envConfigMaps"]] == rendered["env_config_maps"]
    assert chart["runK8sConfig"]["containerConfig"] == rendered["run_k8s_config"]["container_config"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "consoleme_assets.definitions"]
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"], "the password belongs in a Secret"
    assert values["postgresql"]["postgresqlScheme"] == k8s["storage"]["postgres"]["postgres_db"]["scheme"]


def _job_with(executor) -> dg.JobDefinition:
    @dg.op
    def noop() -> None:
        pass

    @dg.job(executor_def=executor)
    def probe():
        noop()

    return probe


def test_k8s_job_executor_run_config():
    from dagster_k8s import k8s_job_executor

    run_config = yaml.safe_load((DEPLOY / "k8s" / "run_config.yaml").read_text())
    assert dg.validate_run_config(_job_with(k8s_job_executor), run_config)
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(_job_with(k8s_job_executor), {"execution": {"config": {"max_concurent": 1}}})


def test_celery_executor_run_config(monkeypatch):
    from dagster_celery import celery_executor

    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "redis://redis.internal:6379/5")
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://redis.internal:6379/6")
    run_config = yaml.safe_load((DEPLOY / "celery" / "run_config.yaml").read_text())
    assert dg.validate_run_config(_job_with(celery_executor), run_config)


def test_code_location_accepts_a_distributed_executor():
    """The real asset graph builds with the k8s/celery executors (what deploy/README.md tells you to set)."""
    from dagster_celery import celery_executor
    from dagster_k8s import k8s_job_executor

    from consoleme_assets.definitions import build_definitions

    for executor in (k8s_job_executor, celery_executor):
        swapped = build_definitions(executor=executor)
        dg.Definitions.validate_loadable(swapped)
        job = swapped.resolve_implicit_global_asset_job_def()
        assert job.executor_def is executor
