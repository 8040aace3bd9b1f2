"""`service_control_policies` end to end: moto Organizations -> ALL_AWS_SCPS in redis-server + S3."""

import json

import boto3
import dagster as dg

from consoleme_assets.aws import organizations as org_collectors
from consoleme_assets.definitions import build_resources
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import service_control_policies
from consoleme_assets_tests.organizations_tests.conftest import DENY_LEAVE, DENY_REGIONS, assumed_roles, write_config

KEY = "ALL_AWS_SCPS"
S3_KEY = "scps/cache_scps_v1.json.gz"


def materialize(instance, resources):
    return dg.materialize([service_control_policies], instance=instance, resources=resources, raise_on_error=False)


def expected_custom(layout):
    def target(kind, ident, name, type_):
        return {"target_id": ident, "arn": layout.arn(kind, ident), "name": name, "type": type_}

    def policy(name, description, document):
        pid = layout.policies[name]
        return {
            "id": pid,
            "arn": layout.arn("policy", f"service_control_policy/{pid}"),
            "name": name,
            "description": description,
            "type": "SERVICE_CONTROL_POLICY",
            "aws_managed": False,
            "content": json.dumps(document),
        }

    sandbox = layout.accounts["demo-sandbox"]
    return [
        {
            "targets": [
                target("ou", layout.ous["workloads"], "workloads", "ORGANIZATIONAL_UNIT"),
                target("account", sandbox, "demo-sandbox", "ACCOUNT"),
            ],
            "policy": policy("deny-leave-organization", "Accounts cannot leave", DENY_LEAVE),
        },
        {
            "targets": [target("root", layout.root_id, "Root", "ROOT")],
            "policy": policy("deny-other-regions", "Two regions only", DENY_REGIONS),
        },
        {"targets": [], "policy": policy("unattached", "", DENY_LEAVE)},
    ]


def check_cache(cached, layout):
    assert list(cached) == [layout.master]
    entries = cached[layout.master]
    full_access, *custom = entries
    assert full_access["policy"] == {
        "id": "p-FullAWSAccess",
        "arn": layout.arn("policy", "service_control_policy/p-FullAWSAccess"),
        "name": "FullAWSAccess",
        "description": "Allows access to every operation",
        "type": "SERVICE_CONTROL_POLICY",
        "aws_managed": True,
        "content": json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    }
    # moto attaches FullAWSAccess to the root and to every account and OU it creates
    assert {(t["target_id"], t["type"]) for t in full_access["targets"]} == (
        {(layout.root_id, "ROOT")}
        | {(a, "ACCOUNT") for a in layout.accounts.values()}
        | {(o, "ORGANIZATIONAL_UNIT") for o in layout.ous.values()}
    )
    assert custom == expected_custom(layout)


def test_caches_every_scp_with_its_targets(org_layout, demo_org, instance, resources, redis_client):
    result = materialize(instance, resources)
    assert result.success
    cached = json.loads(redis_client.get(KEY))
    check_cache(cached, org_layout)
    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    assert open_envelope(body, gz=True)["data"] == cached
    assert int(redis_client.hget("STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", KEY)) > 0

    meta = result.asset_materializations_for_node("service_control_policies")[0].metadata
    assert meta["dagster/row_count"].value == 4
    assert meta["policies_by_organization"].value == {org_layout.master: 4}
    assert meta["redis_keys"].value == [KEY]
    assert meta["s3_uris"].value == [f"s3://{demo_org.cache_bucket}/{S3_KEY}"]
    assert len(meta["preview"].value.records) == 4


def test_reads_through_the_configured_role_and_pages(
    org_layout, demo_org, instance, resources, redis_client, monkeypatch
):
    monkeypatch.setattr(org_collectors, "ORG_PAGE_SIZE", 1)  # one policy per ListPolicies page
    assert materialize(instance, resources).success
    check_cache(json.loads(redis_client.get(KEY)), org_layout)
    sessions = [(arn, name) for arn, name in assumed_roles(demo_org.endpoint_url) if name.endswith("-scps")]
    assert sessions == [("arn:aws:iam::123456789012:role/ConsoleMeOrgReader", "consoleme-assets-scps")]


def test_no_organizations_configured_caches_empty(sandbox_env, instance, redis_client, tmp_path):
    config = write_config(
        tmp_path,
        sandbox_env,
        "cache_cloud_accounts: {from_aws_organizations: false}\ncache_accounts_from_aws_organizations: []\n",
    )
    assert materialize(instance, build_resources(config)).success
    assert redis_client.get(KEY) == "{}"


def test_failed_read_keeps_the_last_good_cache(org_layout, sandbox_env, instance, resources, redis_client, tmp_path):
    assert materialize(instance, resources).success
    before = redis_client.get(KEY)
    broken = write_config(
        tmp_path,
        sandbox_env,
        "aws: {sts_endpoint_url: 'http://127.0.0.1:9'}\nconsoleme_assets: {aws_max_attempts: 1}\n",
    )
    result = materialize(instance, build_resources(broken))
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error.cause)
    assert "account 123456789012: cannot assume arn:aws:iam::123456789012:role/ConsoleMeOrgReader" in error
    assert redis_client.get(KEY) == before
