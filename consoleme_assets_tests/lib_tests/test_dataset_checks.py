"""Dataset checks on the seeded sandbox after a full refresh, and on hand-broken caches; freshness on every
asset of the merged code location."""

import json

import dagster as dg
import pytest

from consoleme_assets.cli.refresh import run_refresh
from consoleme_assets.definitions import defs as code_location


@pytest.fixture
def observed_defs(sandbox_env):
    return code_location  # freshness, checks and sensors are applied there


def _evaluations(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    result = defs.resolve_job_def("observability_checks_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def test_every_asset_has_a_freshness_policy_and_loads(observed_defs):
    dg.Definitions.validate_loadable(observed_defs)
    graph = observed_defs.resolve_asset_graph()
    policies = {k.to_user_string(): graph.get(k).freshness_policy for k in graph.get_all_asset_keys()}
    assert all(policies.values()), [k for k, p in policies.items() if not p]
    assert policies["s3_buckets"].warn_window.to_timedelta().total_seconds() == 3600
    assert policies["s3_buckets"].fail_window.to_timedelta().total_seconds() == 6000
    names = {s.name for s in observed_defs.sensors}
    assert {"consoleme_alerts_sensor", "consoleme_run_failure_alerts", "consoleme_metrics_sensor"} <= names


def test_checks_pass_after_refresh_and_name_the_broken_field(observed_defs, instance, redis_client, demo_org):
    names = sorted(s.key.to_user_string() for s in observed_defs.resolve_all_asset_specs())
    assert run_refresh(observed_defs, instance, names, None, out=lambda line: None) == []
    evaluations = _evaluations(observed_defs, instance)
    failed = {k: e.description for k, e in evaluations.items() if not e.passed}
    assert failed == {}
    assert "s3_buckets:covers_all_accounts" in evaluations and "iam_resources:accounts_fresh" in evaluations

    arn, raw = next(iter(redis_client.hscan_iter("IAM_ROLE_CACHE")))
    entry = json.loads(raw)
    del entry["resourceId"]
    redis_client.hset("IAM_ROLE_CACHE", arn, json.dumps(entry))
    member = demo_org.member_account_ids[0]
    redis_client.hdel("S3_BUCKETS", member)
    redis_client.hset("SQS_QUEUES", member, json.dumps({"not": "a list"}))
    evaluations = _evaluations(observed_defs, instance)
    failed = {k: e.description for k, e in evaluations.items() if not e.passed}
    assert set(failed) == {"iam_resources:cache_shape", "s3_buckets:covers_all_accounts", "sqs_queues:cache_shape"}
    assert f"IAM_ROLE_CACHE[{arn}]: field 'resourceId' is missing" in failed["iam_resources:cache_shape"]
    assert member in failed["s3_buckets:covers_all_accounts"]
    assert f"SQS_QUEUES[{member}]: expected a JSON list" in failed["sqs_queues:cache_shape"]

    # The ARN-keyed IAM hashes: an account whose roles (or the users its last refresh found) are all gone.
    assert evaluations["iam_resources:covers_all_accounts"].passed
    other = demo_org.member_account_ids[1]
    for key in ("IAM_ROLE_CACHE", "IAM_USER_CACHE"):
        gone = [arn for arn in redis_client.hkeys(key) if arn.split(":")[4] == other]
        assert gone, (key, other)  # the demo org gives every member roles and users
        redis_client.hdel(key, *gone)
    evaluations = _evaluations(observed_defs, instance)
    coverage = evaluations["iam_resources:covers_all_accounts"]
    assert not coverage.passed
    assert f"IAM_ROLE_CACHE has no role ARN of active account(s) {other}" in coverage.description
    assert (
        f"IAM_USER_CACHE has no user ARN of active account(s) {other} although its latest refresh found users"
        in coverage.description
    )
    assert coverage.metadata["missing_accounts"].value == {"IAM_ROLE_CACHE": [other], "IAM_USER_CACHE": [other]}
    assert member not in coverage.description


def test_empty_role_cache_fails(observed_defs, instance, redis_client):
    evaluations = _evaluations(observed_defs, instance)
    assert "IAM_ROLE_CACHE is empty" in evaluations["iam_resources:cache_shape"].description
    assert "ALL_AWS_ACCOUNTS does not exist" in evaluations["aws_accounts:cache_shape"].description


def test_arn_coverage_exempts_accounts_whose_refresh_found_no_roles(instance, redis_client, sandbox_env, tmp_path):
    """An account with no role in IAM_ROLE_CACHE is flagged unless its latest iam_resources materialization
    counted no roles (e.g. all filtered out by roles.allowed_tags); never-refreshed accounts are named as such."""
    from consoleme_assets.lib.checks import arn_coverage_problems
    from consoleme_assets.lib.resources import ConsoleMeResource
    from consoleme_assets_tests.catalog import DATASETS

    from .support import materialize_at

    a, b, c = "111111111111", "222222222222", "333333333333"
    instance.add_dynamic_partitions("aws_accounts", [a, b, c])  # the active accounts
    redis_client.hset("IAM_ROLE_CACHE", f"arn:aws:iam::{a}:role/app", "{}")
    materialize_at(instance, "iam_resources", b, 1000.0, {"counts": dg.MetadataValue.json({"roles": 0, "users": 0})})
    caches = ConsoleMeResource().caches()
    problems, metadata = arn_coverage_problems(caches, instance, DATASETS["iam_resources"])
    assert problems == [f"IAM_ROLE_CACHE has no role ARN of active account(s) {c} ({c} never refreshed)"]
    assert metadata["missing_accounts"].value == {"IAM_ROLE_CACHE": [c]}

    # Policies: AWS-managed ones (arn:aws:iam::aws:policy/...) are in no account, so an account whose refresh
    # found only those is covered; one that found policies of its own and has none cached is not.
    redis_client.hset("IAM_ROLE_CACHE", f"arn:aws:iam::{c}:role/app", "{}")
    redis_client.hset("IAM_POLICY_CACHE", "arn:aws:iam::aws:policy/ReadOnlyAccess", "{}")
    only_aws = {"roles": 1, "policies": 2, "aws_managed_policies": 2}
    materialize_at(instance, "iam_resources", a, 1001.0, {"counts": dg.MetadataValue.json(only_aws)})
    own = {"roles": 1, "policies": 3, "aws_managed_policies": 2}
    materialize_at(instance, "iam_resources", c, 1001.0, {"counts": dg.MetadataValue.json(own)})
    problems, _ = arn_coverage_problems(caches, instance, DATASETS["iam_resources"])
    assert problems == [
        f"IAM_POLICY_CACHE has no policy ARN of active account(s) {c} although its latest refresh found policies"
    ]
