"""`consoleme-assets refresh` as a user runs it: a subprocess against the seeded sandbox."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(env, *args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "consoleme_assets.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def cli_env(sandbox_env, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    return {**sandbox_env, "DAGSTER_HOME": str(home)}


def test_refresh_everything(cli_env, demo_org, redis_client, tmp_path):
    proc = run_cli(cli_env, "refresh", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("aws_accounts: ok")
    n = len(demo_org.accounts)
    assert any(line.startswith(f"s3_buckets: {n}/{n} accounts") for line in lines)
    assert json.loads(redis_client.get("ALL_AWS_ACCOUNTS"))["accounts"]
    assert {k: json.loads(v) for k, v in redis_client.hgetall("S3_BUCKETS").items()} == demo_org.buckets
    runs = list((tmp_path / "dagster_home").glob("storage/*"))  # runs recorded in DAGSTER_HOME
    assert len(runs) >= 2
    # Every check of every asset ran after its asset and passed (what the UI shows for this instance).
    assert " check " not in proc.stdout, proc.stdout
    assert latest_check_outcomes(Path(cli_env["DAGSTER_HOME"])) == {k: True for k in all_check_keys()}


def all_check_keys() -> list[str]:
    from consoleme_assets.definitions import defs

    return sorted(k.to_user_string() for k in defs.resolve_asset_graph().asset_check_keys)


def latest_check_outcomes(home: Path) -> dict[str, bool | None]:
    """{check: passed?} of each check's latest execution recorded in the instance at `home`."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from consoleme_assets.definitions import defs

    out = {}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        for key in defs.resolve_asset_graph().asset_check_keys:
            [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1) or [None]
            evaluation = record and record.event and record.event.dagster_event.event_specific_data
            out[key.to_user_string()] = getattr(evaluation, "passed", None)
    return out


def test_refresh_some_accounts(cli_env, demo_org, redis_client, tmp_path):
    one = demo_org.member_account_ids[-1]
    proc = run_cli(cli_env, "refresh", "--accounts", one, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "s3_buckets: 1/1 accounts" in proc.stdout
    assert set(redis_client.hgetall("S3_BUCKETS")) == {one}


def test_bad_input_is_named_and_nothing_runs(cli_env, redis_client, tmp_path):
    proc = run_cli(cli_env, "refresh", "--accounts", "12345", cwd=tmp_path)
    assert proc.returncode == 2 and "--accounts entry must be 12 digits, got '12345'" in proc.stderr
    proc = run_cli(cli_env, "refresh", "--select", "s3_buckets,nope", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown asset(s) nope" in proc.stderr
    proc = run_cli(cli_env, "refresh", "--select", "s3_buckets", "--accounts", "999999999999", cwd=tmp_path)
    assert proc.returncode == 2 and "999999999999 are not account partitions" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("redis: {port: [1]}\n")
    proc = run_cli({**cli_env, "CONSOLEME_ASSETS_CONFIG": str(bad)}, "refresh", cwd=tmp_path)
    assert proc.returncode == 2 and f"{bad}: key 'redis.port'" in proc.stderr
    assert redis_client.keys("*") == []
    proc = run_cli(cli_env, "refresh", "--select", "aws_accounts", "--accounts", "999999999999", cwd=tmp_path)
    assert proc.returncode == 0  # only unpartitioned assets selected: the accounts do not matter


def test_failed_account_exits_non_zero_naming_it(cli_env, demo_org, tmp_path):
    # The spoke role is unreachable for every member account: STS endpoint points nowhere after discovery.
    assert run_cli(cli_env, "refresh", "--select", "aws_accounts", cwd=tmp_path).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        f"extends: [{cli_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "aws: {sts_endpoint_url: 'http://127.0.0.1:9'}\nconsoleme_assets: {aws_max_attempts: 1}\n"
    )
    proc = run_cli(
        {**cli_env, "CONSOLEME_ASSETS_CONFIG": str(broken)}, "refresh", "--select", "s3_buckets", cwd=tmp_path
    )
    assert proc.returncode == 1
    member = demo_org.member_account_ids[0]
    assert "FAILED accounts" in proc.stdout and member in proc.stdout
    assert f"account {member}: cannot assume" in proc.stderr


def test_refresh_role(cli_env, demo_org, redis_client, tmp_path):
    arn = demo_org.roles[demo_org.member_account_ids[0]][0]
    proc = run_cli(cli_env, "refresh-role", arn, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{arn}: updated"
    assert json.loads(redis_client.hget("IAM_ROLE_CACHE", arn))["arn"] == arn
    never = f"arn:aws:iam::{demo_org.member_account_ids[0]}:role/never-existed"
    proc = run_cli(cli_env, "refresh-role", never, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"{never}: not found", proc.stderr
    proc = run_cli(cli_env, "refresh-role", "not-an-arn", cwd=tmp_path)
    assert proc.returncode == 2 and "is not an IAM role ARN" in proc.stderr
