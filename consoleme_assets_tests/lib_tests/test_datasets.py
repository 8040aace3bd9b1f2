"""Each dataset is declared once (its domain's datasets.py), and everything about it in the code location (asset,
description, group, kinds, schedule cron, job and run tags, freshness window, pool, checks, compat task names,
storage key, resources) is derived from that declaration: checked on the real definitions, then by changing a
declaration in a copy of the registry and seeing the derived fact follow."""

import dataclasses
import json
import re

import dagster as dg
import pytest

from consoleme_assets.definitions import defs
from consoleme_assets.lib.automation import crons_at, jobs_of, refresh_job, refresh_schedule
from consoleme_assets.lib.checks import COVERAGE_CHECK, SHAPE_CHECK, account_check_specs
from consoleme_assets.lib.concurrency import DATASET_TAG
from consoleme_assets.lib.datasets import Cadence, Dataset, by_name, dataset_run_tags
from consoleme_assets.lib.definitions import definitions_from, validate_registry
from consoleme_assets.lib.freshness import freshness_windows, window_for_cadence
from consoleme_assets.settings import Settings
from consoleme_assets.stores import RedisStore
from consoleme_assets.stores.caches import ConsoleMeCaches, JsonDocument
from consoleme_assets_tests.catalog import DATASETS

SETTINGS = Settings()
GRAPH = defs.resolve_asset_graph()
ASSETS = sorted(k.to_user_string() for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).is_materializable)


def rebuilt(datasets: dict[str, Dataset]) -> dg.Definitions:
    return definitions_from(list(datasets.values()), settings=SETTINGS)


def test_every_asset_is_a_declaration_and_a_name_is_declared_once():
    assert ASSETS == sorted(DATASETS)
    with pytest.raises(ValueError, match="'s3_buckets' is declared twice"):
        by_name([DATASETS["s3_buckets"], dataclasses.replace(DATASETS["s3_buckets"])])
    with pytest.raises(ValueError, match="declare exactly one of fetch, refresh or build"):
        dataclasses.replace(DATASETS["s3_buckets"], build=lambda context, consoleme: None)


def test_assets_pools_run_tags_and_checks_come_from_the_declarations():
    for spec in defs.resolve_all_asset_specs():
        declared = DATASETS[spec.key.to_user_string()]
        assert (spec.description, spec.group_name, set(spec.kinds)) == (
            declared.description,
            declared.group,
            set(declared.kinds),
        )
        assert (spec.partitions_def is not None) == declared.per_account
        assert {k.to_user_string() for k in GRAPH.get(spec.key).parent_keys} >= set(declared.deps)
        assert GRAPH.get(spec.key).pools == {declared.pool}
    for asset in [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]:
        if asset.partitions_def is not None:
            [name] = [k.to_user_string() for k in asset.keys]
            declared = DATASETS[name]
            assert dict(asset.op.tags) == declared.run_tags
            checks = {s.name: s.description for s in asset.check_specs}
            assert (SHAPE_CHECK in checks) == (declared.shape is not None)
            assert checks.get(COVERAGE_CHECK) == declared.coverage
    shape_checked = {k.asset_key.to_user_string() for k in GRAPH.asset_check_keys if k.name == SHAPE_CHECK}
    assert shape_checked == {n for n, d in DATASETS.items() if d.shape is not None}


def test_jobs_schedules_and_run_tags_come_from_the_declarations():
    groups = jobs_of(DATASETS.values())
    for job_name, declared in groups.items():
        job = defs.resolve_job_def(job_name)
        assert sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys) == sorted(
            d.name for d in declared
        )
        assert job.tags[DATASET_TAG] == dataset_run_tags(declared)[DATASET_TAG]
        [schedule] = [s for s in defs.schedules if s.job_name == job_name]
        # The cadence's crons, shifted by the one offset lib/spread.py gives the job.
        cadence = declared[0].cadence
        assert any(schedule.cron_schedule == crons_at(cadence, m) for m in range(60)), (
            job_name,
            schedule.cron_schedule,
        )
        assert schedule.name == job_name.removesuffix("_job") + "_" + declared[0].cadence.label
    # A domain's sensor targeting a derived job holds the very object the code location lists.
    assert refresh_job(groups["credential_mapping_job"]) is refresh_job(
        list(reversed(groups["credential_mapping_job"]))
    )


def test_freshness_compat_tasks_resources_and_storage_keys_come_from_the_declarations():
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.freshness_policy == window_for_cadence(DATASETS[name].cadence.minutes).policy(), name
    metrics = defs.resolve_sensor_def("consoleme_metrics_sensor")
    assert metrics is not None
    for declared in DATASETS.values():
        for key in declared.resources:
            assert key in defs.resources, (declared.name, key)


def test_a_changed_declaration_changes_what_is_derived(redis_client):
    policies = DATASETS["policies_table"]
    quarter_hourly = dataclasses.replace(policies, cadence=Cadence(15, "*/15 * * * *", "every_15_minutes"))
    copy = {**DATASETS, "policies_table": quarter_hourly}
    observed = rebuilt(copy)

    # The schedule, its name and the freshness window follow the cadence.
    schedule = observed.resolve_schedule_def("policies_table_every_15_minutes")
    assert re.fullmatch(r"(\*|\d{1,2}-59)/15 \* \* \* \*", schedule.cron_schedule), schedule.cron_schedule
    [spec] = [s for s in observed.resolve_all_asset_specs() if s.key.to_user_string() == "policies_table"]
    assert spec.freshness_policy == window_for_cadence(15).policy() != window_for_cadence(30).policy()
    assert freshness_windows(copy, ["policies_table"], SETTINGS)["policies_table"] == window_for_cadence(15)

    # Without a shape, no cache_shape check op is built for it.
    unchecked = rebuilt({**copy, "policies_table": dataclasses.replace(policies, shape=None)})
    assert [k for k in observed.resolve_asset_graph().asset_check_keys if k.asset_key.path == ["policies_table"]]
    assert not [k for k in unchecked.resolve_asset_graph().asset_check_keys if k.asset_key.path == ["policies_table"]]

    # The pool, run tag, job and checks of a per-account dataset follow its declaration.
    buckets = dataclasses.replace(DATASETS["s3_buckets"], name="s3_buckets_copy", coverage=None, job="bucket_copy")
    with_copy = rebuilt({**DATASETS, "s3_buckets_copy": buckets})
    asset = with_copy.resolve_assets_def("s3_buckets_copy")
    assert asset.op.pool == "consoleme/s3_buckets_copy"
    assert dict(asset.op.tags) == {DATASET_TAG: "s3_buckets_copy"}
    assert {s.name for s in asset.check_specs} == {"accounts_fresh", SHAPE_CHECK}
    assert with_copy.resolve_job_def("bucket_copy_job").tags[DATASET_TAG] == "s3_buckets_copy"
    assert [s.name for s in account_check_specs(DATASETS["s3_buckets"])] == [
        "accounts_fresh",
        SHAPE_CHECK,
        COVERAGE_CHECK,
    ]

    # Two datasets with different cadences cannot share a schedule.
    with pytest.raises(ValueError, match="different cadences"):
        refresh_schedule([quarter_hourly, dataclasses.replace(DATASETS["aws_accounts"], job="policies_table")])

    # The storage: the stores write, and the presence sensor watches, the key the declaration names.
    moved = JsonDocument(lambda s: "MOVED_ACCOUNTS", None)
    caches = ConsoleMeCaches(SETTINGS, RedisStore(redis_client, "LAST_UPDATED"), None)
    caches.write_json(moved, {"accounts": []})
    assert json.loads(redis_client.get("MOVED_ACCOUNTS")) == {"accounts": []}
    assert moved.presence_key(SETTINGS) == "MOVED_ACCOUNTS"


def test_a_bad_registry_is_named():
    with pytest.raises(ValueError, match="new_cache have no dataset declaration"):
        freshness_windows(DATASETS, ["aws_accounts", "new_cache"], SETTINGS)
    with pytest.raises(ValueError, match="'policies_table' depends on undeclared dataset"):
        validate_registry({**DATASETS, "policies_table": dataclasses.replace(DATASETS["policies_table"], deps=("x",))})
    no_source = {n: dataclasses.replace(d, partitions_source=False) for n, d in DATASETS.items()}
    with pytest.raises(ValueError, match="no dataset declares partitions_source"):
        validate_registry(no_source)


def test_a_check_runs_in_its_datasets_pool():
    """The checks job holds the pool of every dataset it checks, so it never evaluates a dataset while that dataset
    is being materialized (issue 24 item 3: an evaluation overlapping a materialization showed 'Not evaluated')."""
    job = defs.resolve_job_def("observability_checks_job")
    checked = {k.asset_key.to_user_string() for k in job.asset_layer.asset_graph.asset_check_keys}
    assert checked >= {n for n, d in DATASETS.items() if d.shape is not None or d.per_account}
    pools_by_asset = {}
    for node in job.graph.node_defs:
        for key in job.asset_layer.asset_graph.asset_check_keys:
            if node.name.startswith(key.asset_key.to_user_string()):
                pools_by_asset.setdefault(key.asset_key.to_user_string(), set()).add(node.pool)
    for name in checked:
        assert pools_by_asset.get(name) == {DATASETS[name].pool}, (name, pools_by_asset.get(name))
