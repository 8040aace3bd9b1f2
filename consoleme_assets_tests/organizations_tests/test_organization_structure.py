"""`organization_structure` end to end: moto Organizations -> AWS_ORG_STRUCTURE in redis-server + S3."""

import json

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import organization_structure
from consoleme_assets_tests.organizations_tests.conftest import assumed_roles, write_config

KEY = "AWS_ORG_STRUCTURE"
S3_KEY = "scps/cache_org_structure_v1.json.gz"


def materialize(instance, resources):
    return dg.materialize([organization_structure], instance=instance, resources=resources, raise_on_error=False)


def expected_structure(layout):
    orgs = boto3.client("organizations")

    def account(name, parent):
        described = orgs.describe_account(AccountId=layout.accounts[name])["Account"]
        described["JoinedTimestamp"] = described["JoinedTimestamp"].timestamp()  # ConsoleMe's JSON encoder
        described.pop("State", None)  # DescribeAccount's later field: ConsoleMe's output has Status only
        return {"Id": layout.accounts[name], "Type": "ACCOUNT", "Parent": parent, **described}

    def ou(name, parent, children):
        ou_id = layout.ous[name]
        return {
            "Id": ou_id,
            "Type": "ORGANIZATIONAL_UNIT",
            "Parent": parent,
            "Arn": layout.arn("ou", ou_id),
            "Name": name,
            "Children": children,
        }

    workloads, production, root = layout.ous["workloads"], layout.ous["production"], layout.root_id
    return {
        root: {
            "Id": root,
            "Arn": layout.arn("root", root),
            "Name": "Root",
            "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
            "Children": [  # OUs first, then accounts, each in API order (ConsoleMe's order)
                ou(
                    "workloads",
                    root,
                    [
                        ou("production", workloads, [account("demo-prod", production)]),
                        account("demo-staging", workloads),
                    ],
                ),
                account("master", root),
                account("demo-sandbox", root),
                account("demo-retired", root),
            ],
        }
    }


def test_caches_the_tree_of_ous_and_accounts(org_layout, demo_org, instance, resources, redis_client):
    result = materialize(instance, resources)
    assert result.success
    cached = json.loads(redis_client.get(KEY))
    assert cached == expected_structure(org_layout)
    prod = cached[org_layout.root_id]["Children"][0]["Children"][0]["Children"][0]
    assert list(prod)[:4] == ["Id", "Type", "Parent", "Arn"]
    assert isinstance(prod["JoinedTimestamp"], float)
    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    assert open_envelope(body, gz=True)["data"] == cached

    meta = result.asset_materializations_for_node("organization_structure")[0].metadata
    assert (meta["roots"].value, meta["organizational_units"].value, meta["accounts"].value) == (1, 2, 5)
    assert meta["roots_by_organization"].value == {org_layout.master: [org_layout.root_id]}
    assert meta["redis_keys"].value == [KEY]
    assert "- production (OU" in meta["preview"].value


def test_reads_through_the_configured_role_not_consoleme(org_layout, demo_org, instance, resources):
    assert materialize(instance, resources).success
    sessions = [(arn, name) for arn, name in assumed_roles(demo_org.endpoint_url) if name.endswith("-org-structure")]
    assert sessions == [("arn:aws:iam::123456789012:role/ConsoleMeOrgReader", "consoleme-assets-org-structure")]


def test_failed_organization_keeps_the_last_good_cache(
    org_layout, sandbox_env, instance, resources, redis_client, tmp_path
):
    assert materialize(instance, resources).success
    before = redis_client.get(KEY)
    # the second organization's account belongs to no organization: ListRoots fails there
    config = write_config(
        tmp_path,
        sandbox_env,
        (
            "cache_accounts_from_aws_organizations:\n"
            "  - {organizations_master_account_id: '123456789012', organizations_master_role_to_assume: ConsoleMeOrgReader}\n"
            "  - {organizations_master_account_id: '999999999999', organizations_master_role_to_assume: OrgReader}\n"
        ),
    )
    result = materialize(instance, build_resources(config))
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error.cause)
    assert (
        "organization 999999999999 (role OrgReader): listing roots: ListRoots: AWSOrganizationsNotInUseException"
    ) in error
    assert redis_client.get(KEY) == before
