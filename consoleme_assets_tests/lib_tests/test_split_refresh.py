"""`consoleme_assets.max_accounts_per_run`: a per-account refresh split into runs over account ranges lands the
same caches as one run, writes the combined files once (the launch's last run), judges coverage of every account
once; schedules and UI backfills split the same way."""

import math
from pathlib import Path

import boto3
import dagster as dg

from consoleme_assets.cli.refresh import run_refresh
from consoleme_assets.definitions import build_definitions
from consoleme_assets.lib.ranges import LAUNCH_TAG, RANGE_TAG
from consoleme_assets.sandbox.__main__ import CONFIG_PATH as SANDBOX_CONFIG
from consoleme_assets_tests.fault_tests.conftest import redis_snapshot, s3_snapshot

SELECTED = ["aws_accounts", "iam_resources", "s3_buckets"]


def split_config(tmp_path: Path, per_run: int) -> str:
    path = tmp_path / "split.yaml"
    path.write_text(f"extends:\n  - {SANDBOX_CONFIG}\nconsoleme_assets:\n  max_accounts_per_run: {per_run}\n")
    return str(path)


def materializations_by_run(instance, asset: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for record in instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records:
        out.setdefault(record.run_id, []).append(record.asset_materialization)
    return out


def test_split_refresh_lands_the_same_caches_and_combines_once(
    sandbox_env, instance, redis_client, demo_org, monkeypatch, tmp_path
):
    whole = build_definitions()
    assert run_refresh(whole, instance, SELECTED, None, out=lambda line: None) == []
    one_run = redis_snapshot(redis_client), s3_snapshot(demo_org.cache_bucket, sandbox_env["AWS_ENDPOINT_URL"])
    redis_client.flushall()

    config = split_config(tmp_path, 2)
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", config)
    split = build_definitions(config_file=config)
    accounts = instance.get_dynamic_partitions("aws_accounts")
    assert len(accounts) >= 3
    runs_before = {r.run_id for r in instance.get_runs()}
    assert run_refresh(split, instance, SELECTED, None, out=lambda line: None, max_per_run=2) == []

    ranges = [r for r in instance.get_runs() if r.run_id not in runs_before and LAUNCH_TAG in r.tags]
    total = math.ceil(len(accounts) / 2)
    assert sorted(r.tags[RANGE_TAG] for r in ranges) == [f"{i}/{total}" for i in range(1, total + 1)]
    assert len({r.tags[LAUNCH_TAG] for r in ranges}) == 1
    assert (redis_snapshot(redis_client), s3_snapshot(demo_org.cache_bucket, sandbox_env["AWS_ENDPOINT_URL"])) == (
        one_run
    )

    # Combined outputs: written by the launch's last run only; coverage of all judged there, of its own before.
    last = max(ranges, key=lambda r: int(r.tags[RANGE_TAG].split("/")[0]))  # the CLI runs them in turn
    for asset, combined in (("s3_buckets", "combined_s3_uris"), ("iam_resources", "combined_s3_uris")):
        by_run = materializations_by_run(instance, asset)
        with_combined = {
            r for r, ms in by_run.items() if r not in runs_before and any(combined in m.metadata for m in ms)
        }
        assert with_combined == {last.run_id}, (asset, with_combined)
    # Each run's last materialization says where it stood in the launch (what the UI shows).
    places = {
        run: {m.metadata["launch_run"].value: m.metadata["completed_launch"].value}
        for run, mats in materializations_by_run(instance, "s3_buckets").items()
        for m in mats
        if "launch_run" in m.metadata
    }
    assert places == {r.run_id: {f"{r.tags[RANGE_TAG].replace('/', ' of ')}": r.run_id == last.run_id} for r in ranges}
    # A change in the first range only: the last run changed nothing itself, yet writes the combined file anew.
    changed = next(a for a in accounts[:2] if a in demo_org.member_account_ids)
    creds = boto3.client("sts").assume_role(RoleArn=demo_org.role_arn(changed), RoleSessionName="split-test")[
        "Credentials"
    ]
    boto3.client(
        "s3",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).create_bucket(Bucket=f"split-{changed}")
    before_second = {r.run_id for r in instance.get_runs()}
    assert run_refresh(split, instance, ["s3_buckets"], None, out=lambda line: None, max_per_run=2) == []
    second = [r for r in instance.get_runs() if r.run_id not in before_second]
    final = max(second, key=lambda r: int(r.tags[RANGE_TAG].split("/")[0]))
    final_mats = materializations_by_run(instance, "s3_buckets")[final.run_id]
    assert any("combined_s3_uris" in m.metadata for m in final_mats), [m.metadata.keys() for m in final_mats]

    for record in instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("s3_buckets"), "covers_all_accounts"), limit=10
    ):
        if record.run_id not in {r.run_id for r in ranges}:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed, evaluation.description
        assert ("judged" in evaluation.metadata) == (record.run_id != last.run_id)


def test_schedules_and_backfills_split_by_the_setting(sandbox_env, instance, tmp_path):
    split = build_definitions(config_file=split_config(tmp_path, 2))
    accounts = [f"{n:012d}" for n in range(1, 6)]
    instance.add_dynamic_partitions("aws_accounts", accounts)
    assert split.get_assets_def("iam_resources").backfill_policy.max_partitions_per_run == 2
    schedule = next(s for s in split.schedules if s.name == "iam_every_45_minutes")
    with dg.build_schedule_context(instance=instance, resources=split.resources) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [(r.tags["dagster/asset_partition_range_start"], r.tags[RANGE_TAG]) for r in requests] == [
        (accounts[0], "1/3"),
        (accounts[2], "2/3"),
        (accounts[4], "3/3"),
    ]
    assert len({r.tags[LAUNCH_TAG] for r in requests}) == 1
    assert build_definitions().get_assets_def("iam_resources").backfill_policy.max_partitions_per_run is None
