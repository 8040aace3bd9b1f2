"""dagster-celery as a deployment runs it, for the Celery e2e test and `benchmarks/celery_split.py`: an instance
whose run launcher is `CeleryRunLauncher` (runs launched at once, no queue daemon) and the workers' config (acks
late, prefetch 1: a worker holds one run at a time). Broker and results URLs come from the environment."""

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

QUEUE = "consoleme-assets"


REPO = Path(__file__).resolve().parents[2]


def instance_yaml(home) -> str:
    """The instance file for DAGSTER_HOME `home`: the repo's `dagster.yaml` storage (SQLite with the engines kept,
    lib/sqlite_storage.py) at a literal path, so a process without DAGSTER_HOME set can open it too."""
    storage = yaml.safe_load((REPO / "dagster.yaml").read_text())["storage"]
    (config,) = storage.values()  # `custom: {module, class, config}` or `sqlite: {base_dir}`
    config.get("config", config)["base_dir"] = str(home)
    return (
        yaml.safe_dump({"telemetry": {"enabled": False}, "storage": storage})
        + f"""
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster_celery.launcher
  class: CeleryRunLauncher
  config:
    default_queue: {QUEUE}
    broker: {{env: DAGSTER_CELERY_BROKER_URL}}
    backend: {{env: DAGSTER_CELERY_BACKEND_URL}}
"""
    )


WORKER = f"""
execution:
  config:
    broker: {{env: DAGSTER_CELERY_BROKER_URL}}
    backend: {{env: DAGSTER_CELERY_BACKEND_URL}}
    config_source:
      task_default_queue: {QUEUE}
      worker_prefetch_multiplier: 1
      task_acks_late: true
"""


def worker_argv(bin_dir, config_yaml, name: str) -> list[str]:
    """`dagster-celery worker start` of one worker process running one run at a time."""
    argv = [str(bin_dir / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config_yaml)]
    return argv + ["-q", QUEUE, "-n", name, "--", "--concurrency=1"]


def launch_ranges(bin_dir: Path, requests: list[Any], env: dict[str, str], cwd: Path | None = None) -> None:
    """Each range run of `iam_job` (a schedule tick's run requests) launched through the instance's run launcher
    with `dagster job launch`, all at once; raises naming the output of one that failed."""
    launches = [
        subprocess.Popen(
            [str(bin_dir / "dagster"), "job", "launch", "-m", "consoleme_assets.definitions", "-j", "iam_job"]
            + ["--tags", json.dumps(request.tags)],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for request in requests
    ]
    for launch in launches:
        output, _ = launch.communicate(timeout=600)
        if launch.returncode:
            raise RuntimeError(f"dagster job launch exited with {launch.returncode}:\n{output[-3000:]}")
