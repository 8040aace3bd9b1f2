"""What the README and docs/ name matches the loaded definitions: the schedule table in docs/datasets.md (names,
jobs, crons), and every job, sensor and schedule named anywhere in them exists (a renamed sensor once stayed in
the README under its old name)."""

import re
from pathlib import Path

from consoleme_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[1]
# adding-a-dataset.md names the example dataset it adds (`ec2_instances_job`): not in the code location.
DOCS = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "adding-a-dataset.md"),
    ROOT / "deploy" / "README.md",
]
REPO = defs.get_repository_def()
JOBS = {j.name for j in REPO.get_all_jobs()}
SENSORS = {s.name for s in REPO.sensor_defs}
SCHEDULES = {s.name: s for s in REPO.schedule_defs}


def test_the_schedule_table_is_the_loaded_schedules():
    text = (ROOT / "docs" / "datasets.md").read_text()
    section = text.split("\n## Schedules\n", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    table = {}
    for row in rows:
        name, job, crons = (c.strip() for c in row.strip("|").split("|"))
        table[name.strip("`")] = (job.strip("`"), re.findall(r"`([^`]+)`", crons))
    loaded = {
        n: (s.job_name, s.cron_schedule if isinstance(s.cron_schedule, list) else [s.cron_schedule])
        for n, s in SCHEDULES.items()
    }
    assert table == loaded


def test_every_job_sensor_and_schedule_the_docs_name_exists():
    unknown = []
    for doc in DOCS:
        for name in set(re.findall(r"`([a-z][a-z0-9_]*)`", doc.read_text())):
            kind = "job" if name.endswith("_job") else "sensor" if name.endswith("_sensor") else None
            if kind == "job" and name not in JOBS or kind == "sensor" and name not in SENSORS:
                unknown.append(f"{doc.relative_to(ROOT)}: {kind} `{name}`")
            if re.search(r"_(hourly|daily|every_\d+_(minutes|hours))$", name) and name not in SCHEDULES:
                unknown.append(f"{doc.relative_to(ROOT)}: schedule `{name}`")
    assert not unknown, unknown
