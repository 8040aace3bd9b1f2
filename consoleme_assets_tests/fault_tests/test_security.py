"""Security: no secret reaches Dagster's records or our output; the AWS actions called are exactly the
documented least-privilege policies; the external id is sent; nothing is written to AWS but the caches."""

import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from consoleme_assets.sandbox import start_redis_server

DOCS = Path(__file__).resolve().parents[2] / "docs"
AWS_SECRET, SESSION_TOKEN, REDIS_PASSWORD = "aws-S3CRET-k3y-6a1f", "T0KEN-sess-77c2e9", "r3dis-PASS-91bd"
# principal (as the proxy names it) -> policy file
POLICIES = {
    "ConsoleMe": "spoke-role-policy.json",
    "ConsoleMeOrgReader": "organizations-role-policy.json",
    "hub": "hub-policy.json",
}


WRITE_PREFIXES = ("Put", "Create", "Delete", "Update", "BatchWrite", "Tag", "Untag", "Attach", "Detach", "Set")


def granted(name: str) -> set[str]:
    """The actions a policy file allows, except statements marked `Replica*` (only a replica region calls them),
    `Sensor*` (only a sensor calls them, never a refresh) or `History*` (the history CLI and the retention sweep of
    past days call them)."""
    doc = json.loads((DOCS / name).read_text())
    return {
        a
        for st in doc["Statement"]
        if st["Effect"] == "Allow" and not st.get("Sid", "").startswith(("Replica", "Sensor", "History"))
        for a in st["Action"]
    }


@pytest.fixture
def secret_env(fault_env, monkeypatch, tmp_path):
    with start_redis_server(password=REDIS_PASSWORD, kind="redis-server") as server:
        cfg = tmp_path / "secure.yaml"
        # No sync_regions: regions come from EC2 DescribeRegions, so that action is exercised too.
        cfg.write_text(
            f"extends: {fault_env['CONSOLEME_ASSETS_CONFIG']}\ncelery: {{sync_regions: []}}\n"
            "consoleme_assets: {spoke_role_external_id: ext-id-4711}\n"
        )
        for name, value in {
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "REDIS_URL": server.url,
            "CONSOLEME_ASSETS_CONFIG": str(cfg),
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def test_full_refresh_leaks_no_secret_and_calls_only_what_the_policies_grant(
    secret_env, proxy, refresh, instance, demo_org, caplog, capfd
):
    # INFO: at DEBUG botocore itself logs raw response bodies (AssumeRole credentials included), by design.
    caplog.set_level(logging.INFO)
    victim = demo_org.member_account_ids[0]
    with proxy.injecting("access_denied", action="ListBuckets", account=victim):  # an error path, too
        failures = refresh()
    assert len(failures) == 1 and victim in failures[0]
    role = f"arn:aws:iam::{victim}:role/demo-app"
    result = (
        dg.Definitions.merge(refresh.defs)
        .resolve_job_def("refresh_iam_role_job")
        .execute_in_process(run_config={"ops": {"refresh_iam_role": {"config": {"role_arn": role}}}}, instance=instance)
    )
    assert result.success
    assert secret_env.client().ping()

    # -- secrets ----------------------------------------------------------------------------------------------
    secrets = {AWS_SECRET, SESSION_TOKEN, REDIS_PASSWORD, *proxy.secrets_seen}
    assert len(secrets) > 3  # the assumed roles' keys and tokens are checked too
    texts = ["\n".join(failures), "\n".join(refresh.lines), caplog.text, *capfd.readouterr()]
    for run in instance.get_runs():
        texts.append(str(run.tags) + str(run.run_config))
        texts += [dg.serialize_value(r.event_log_entry) for r in instance.get_records_for_run(run.run_id).records]
    texts += [
        p.read_text(errors="replace")
        for p in Path(instance.root_directory).rglob("*")
        if p.is_file() and p.suffix != ".db"
    ]  # captured compute logs; the sqlite files are covered through the records
    assert len(texts) > 100
    for secret in secrets:
        leaks = [(i, t[max(0, t.find(secret) - 80) : t.find(secret) + 40]) for i, t in enumerate(texts) if secret in t]
        assert not leaks, f"secret found: {leaks[:3]}"

    # -- least privilege --------------------------------------------------------------------------------------
    called: dict[str, set[str]] = {}
    for call in proxy.calls:
        if call.faulted is None:
            called.setdefault(call.principal, set()).add(call.iam_action)
    assert set(called) == set(POLICIES)
    for principal, policy in POLICIES.items():
        assert called[principal] == granted(policy), (principal, sorted(called[principal]))
    writes = [c for c in proxy.calls if c.faulted is None and c.iam_action.split(":")[1].startswith(WRITE_PREFIXES)]
    assert {c.iam_action for c in writes} == {"s3:PutObject", "dynamodb:BatchWriteItem", "sqs:DeleteMessageBatch"}
    denies_queue = demo_org.cloudtrail_denies_queue.rsplit(":", 1)[-1]
    for call in writes:  # only with our own credentials, to the cache bucket, ConsoleMe's tables, the denies queue
        assert call.principal == "hub" and call.resources, call
        assert all(r in (demo_org.cache_bucket, denies_queue) or r.startswith("consoleme_") for r in call.resources), (
            call
        )
    spoke_arns = {arn for arn in proxy.external_ids if arn.endswith(":role/ConsoleMe")}
    assert len(spoke_arns) == len(demo_org.accounts)
    assert {proxy.external_ids[arn] for arn in proxy.external_ids} == {"ext-id-4711"}
