"""Each dataset is declared once (its domain's datasets.py), and the facts spread over the code location (schedule
cron, freshness window, pool, run tags, checks, compat task names, storage key) are derived from that declaration:
checked on the real definitions, then by changing a declaration in a copy and seeing the derived fact follow."""

import dataclasses
import json

import dagster as dg
import pytest

from consoleme_assets import datasets as catalog
from consoleme_assets.datasets import DATASETS, STORAGE
from consoleme_assets.definitions import build_resources, defs
from consoleme_assets.lib.account_refresh import per_account_asset
from consoleme_assets.lib.cadences import cron_of, dataset_schedule
from consoleme_assets.lib.concurrency import DATASET_TAG
from consoleme_assets.lib.datasets import Cadence, by_name, dataset_run_tags
from consoleme_assets.observability.checks import COVERAGE_CHECK, SHAPE_CHECK, account_check_specs
from consoleme_assets.observability.compat import TASKS_BY_ASSET
from consoleme_assets.observability.definitions import with_observability
from consoleme_assets.observability.freshness import freshness_windows, window_for_cadence
from consoleme_assets.policies import definitions as policies_domain
from consoleme_assets.settings import Settings
from consoleme_assets.stores import RedisStore
from consoleme_assets.stores.caches import ArnHashes, ConsoleMeCaches, JsonDataset

SETTINGS = Settings()
GRAPH = defs.resolve_asset_graph()
ASSETS = sorted(k.to_user_string() for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).is_materializable)


def assets_definitions() -> list[dg.AssetsDefinition]:
    return [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]


def test_every_asset_has_exactly_one_declaration():
    assert ASSETS == sorted(DATASETS)
    domain_lists = [
        getattr(catalog, m).DATASETS
        for m in vars(catalog)
        if hasattr(getattr(catalog, m), "DATASETS") and getattr(catalog, m) is not catalog
    ]
    declared = [d.name for lst in domain_lists for d in lst]
    assert sorted(declared) == sorted(DATASETS), "a dataset is declared in two domains (or in none)"
    with pytest.raises(ValueError, match="'s3_buckets' is declared twice"):
        by_name([DATASETS["s3_buckets"], DATASETS["s3_buckets"]])


def test_pools_run_tags_and_checks_come_from_the_declarations():
    for asset in assets_definitions():
        names = sorted(k.to_user_string() for k in asset.keys)
        # One op writing two datasets (the two credential mappings) uses the pool of one of them.
        assert asset.op.pool in {DATASETS[n].pool for n in names}, names
        if asset.partitions_def is not None:
            [name] = names
            declared = DATASETS[name]
            assert asset.op.pool == declared.pool and dict(asset.op.tags) == declared.run_tags
            checks = {s.name: s.description for s in asset.check_specs}
            assert (SHAPE_CHECK in checks) == (declared.shape is not None)
            assert checks.get(COVERAGE_CHECK) == declared.coverage
    shape_checked = {k.asset_key.to_user_string() for k in GRAPH.asset_check_keys if k.name == SHAPE_CHECK}
    assert shape_checked == {n for n, d in DATASETS.items() if d.shape is not None}


def test_schedules_and_job_tags_come_from_the_declarations():
    dataset_schedules = 0
    for schedule in defs.schedules or []:
        job = defs.resolve_job_def(schedule.job_name)
        selected = sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
        if not selected or not set(selected) <= set(DATASETS):
            continue  # checks and cleanup jobs refresh no dataset
        dataset_schedules += 1
        declared = [DATASETS[n] for n in selected]
        assert schedule.cron_schedule == cron_of(declared), schedule.name
        if DATASET_TAG in job.tags:
            assert job.tags[DATASET_TAG] == dataset_run_tags(declared)[DATASET_TAG]
    assert dataset_schedules == 12


def test_freshness_windows_compat_tasks_and_storage_keys_come_from_the_declarations(redis_client):
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        expected = window_for_cadence(DATASETS[name].cadence.minutes).policy()
        assert spec.freshness_policy == expected, name
    assert TASKS_BY_ASSET == {n: d.consoleme_tasks for n, d in DATASETS.items() if d.consoleme_tasks}
    caches = ConsoleMeCaches(SETTINGS, RedisStore(redis_client, "LAST_UPDATED"), None, storage=STORAGE)
    for name, declared in DATASETS.items():
        storage = declared.storage
        if storage is None:
            assert caches.dataset_key(name) is None
        elif isinstance(storage, ArnHashes):
            assert caches.dataset_key(name) == next(iter(storage.redis_keys(SETTINGS).values()))
        else:
            assert caches.dataset_key(name) == storage.redis_key(SETTINGS)


def test_a_changed_declaration_changes_what_is_derived(redis_client):
    policies = DATASETS["policies_table"]
    quarter_hourly = dataclasses.replace(policies, cadence=Cadence(15, "*/15 * * * *"))
    copy = {**DATASETS, "policies_table": quarter_hourly}

    # The schedule and the freshness window follow the cadence.
    job = dg.define_asset_job("policies_copy_job", selection=["policies_table"])
    assert dataset_schedule("policies_copy", job, [quarter_hourly]).cron_schedule == "*/15 * * * *"
    assert freshness_windows(copy, ["policies_table"], SETTINGS)["policies_table"] == window_for_cadence(15)
    domain = dg.Definitions.merge(policies_domain.defs, dg.Definitions(resources=build_resources()))
    observed = with_observability(domain, SETTINGS, datasets=copy)
    [spec] = [s for s in observed.resolve_all_asset_specs() if s.key.to_user_string() == "policies_table"]
    assert spec.freshness_policy == window_for_cadence(15).policy() != window_for_cadence(30).policy()
    # Without a shape, no cache_shape check op is built for it.
    unchecked = with_observability(
        domain, SETTINGS, datasets={**copy, "policies_table": dataclasses.replace(policies, shape=None)}
    )
    assert [k for k in observed.resolve_asset_graph().asset_check_keys if k.asset_key.path == ["policies_table"]]
    assert not [k for k in unchecked.resolve_asset_graph().asset_check_keys if k.asset_key.path == ["policies_table"]]

    # The pool, run tag and checks of a per-account asset follow its declaration.
    buckets = dataclasses.replace(DATASETS["s3_buckets"], name="s3_buckets_copy", coverage=None)

    @per_account_asset(buckets, "a copy", group_name="test")
    def s3_buckets_copy(context: dg.AssetExecutionContext):
        yield from ()

    assert s3_buckets_copy.op.pool == "consoleme/s3_buckets_copy"
    assert dict(s3_buckets_copy.op.tags) == {DATASET_TAG: "s3_buckets_copy"}
    assert {s.name for s in s3_buckets_copy.check_specs} == {"accounts_fresh", SHAPE_CHECK}
    assert [s.name for s in account_check_specs(DATASETS["s3_buckets"])] == [
        "accounts_fresh",
        SHAPE_CHECK,
        COVERAGE_CHECK,
    ]

    # Two datasets with different cadences cannot share a schedule.
    with pytest.raises(ValueError, match="different cadences"):
        cron_of([quarter_hourly, DATASETS["aws_accounts"]])

    # The storage: the stores write and the presence sensor watch the key the declaration names.
    moved = dataclasses.replace(DATASETS["aws_accounts"], storage=JsonDataset(lambda s: "MOVED_ACCOUNTS", None))
    caches = ConsoleMeCaches(
        SETTINGS, RedisStore(redis_client, "LAST_UPDATED"), None, storage={"aws_accounts": moved.storage}
    )
    caches.write_json("aws_accounts", {"accounts": []})
    assert json.loads(redis_client.get("MOVED_ACCOUNTS")) == {"accounts": []}
    assert caches.dataset_key("aws_accounts") == "MOVED_ACCOUNTS"
    with pytest.raises(KeyError, match="unknown JsonDataset dataset 'policies_table'"):
        caches.read_json("policies_table")


def test_an_undeclared_asset_is_named():
    with pytest.raises(ValueError, match="new_cache have no dataset declaration"):
        freshness_windows(DATASETS, ["aws_accounts", "new_cache"], SETTINGS)
