"""`self_service_typeahead`: entries in ConsoleMe's exact shape and order (§5.18), read from the IAM hashes in
the real Redis, written to Redis + S3."""

import datetime as dt
import gzip
import json

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets.iam.records import role_entry, user_entry
from consoleme_assets.selfservice.typeahead import principal_entry, template_entry
from consoleme_assets_tests.catalog import self_service_typeahead

KEY = "cache_self_service_typeahead_v1"
S3_KEY = "cache_self_service_typeahead/cache_self_service_typeahead_v1.json.gz"
TTL = int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())
TEMPLATE = {
    "name": "app-role",
    "owner": "team-x@example.com",
    "include_accounts": ["demo-*"],
    "exclude_accounts": [],
    "number_of_accounts": 3,
    "resource": "iamroles/app.yaml",
    "resource_type": "iam_role",
    "repository_name": "consoleme-templates",
    "template_language": "honeybee",
    "web_path": "https://git.example.com/browse/iamroles/app.yaml",
    "file_path": "honeybee-templates/iamroles/app.yaml",
    "content": None,
}


def role(account_id, name, path="/", tags=()):
    detail = {
        "Path": path,
        "RoleName": name,
        "RoleId": f"AROA{name.upper()}",
        "Arn": f"arn:aws:iam::{account_id}:role{path}{name}",
        "Tags": [{"Key": k, "Value": v} for k, v in tags],
    }
    return role_entry(detail, account_id, TTL, ["owner"], None)


def user(account_id, name):
    detail = {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:aws:iam::{account_id}:user/{name}"}
    return user_entry(detail, account_id, TTL, ["owner"])


def test_entry_shapes_are_consoleme_models():
    assert template_entry(TEMPLATE) == {
        "icon": "users",
        "number_of_affected_resources": 3,
        "display_text": "app-role",
        "account": None,
        "details_endpoint": "/api/v2/templated_resource/consoleme-templates/iamroles/app.yaml",
        "application_name": None,
        "principal": {
            "principal_type": "HoneybeeAwsResourceTemplate",
            "repository_name": "consoleme-templates",
            "resource_identifier": "iamroles/app.yaml",
            "resource_url": "https://git.example.com/browse/iamroles/app.yaml",
        },
    }
    entry = role("111122223333", "worker", "/service/", [("app", "billing"), ("owner", "x")])
    assert principal_entry(entry["arn"], entry, "roles", {"111122223333": "prod"}, "app") == {
        "icon": "user",
        "number_of_affected_resources": 1,
        "display_text": "worker",
        "account": "prod",
        "details_endpoint": "/api/v2/roles/111122223333/worker",
        "application_name": "billing",
        "principal": {
            "principal_type": "AwsResource",
            "principal_arn": "arn:aws:iam::111122223333:role/service/worker",
        },
    }
    entry = user("999988887777", "alice")
    made = principal_entry(entry["arn"], entry, "users", {}, None)
    assert made["details_endpoint"] == "/api/v2/users/999988887777/alice"
    assert made["account"] == "999988887777"  # unknown account: its id
    assert made["application_name"] is None and "application_url" not in made


def test_asset_lists_templates_then_roles_then_users(sandbox_env, demo_org, instance, redis_client, tmp_path):
    prod, staging = "222222222222", "333333333333"
    redis_client.set(
        "ALL_AWS_ACCOUNTS",
        json.dumps(
            {
                "accounts": [
                    {"id": prod, "name": "demo-prod", "status": "active"},
                    {"id": staging, "name": "demo-staging", "status": "suspended"},
                ]
            }
        ),
    )
    roles = [role(prod, "b-role", tags=[("app", "billing")]), role(prod, "a-role"), role(staging, "z-role")]
    redis_client.hset("IAM_ROLE_CACHE", mapping={r["arn"]: json.dumps(r) for r in roles})
    redis_client.hset("IAM_ROLE_CACHE", "arn:aws:iam::222222222222:role/broken", '{"policy": "not json"}')
    redis_client.hset("IAM_USER_CACHE", mapping={u["arn"]: json.dumps(u) for u in [user(prod, "alice")]})
    redis_client.set(
        "cache_templated_resources_v1",
        json.dumps(
            {"templated_resources": [TEMPLATE, {**TEMPLATE, "resource": "s3/b.yaml", "resource_type": "s3_bucket"}]}
        ),
    )
    cfg = tmp_path / "typeahead.yaml"
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\ncache_self_service_typeahead:\n"
        "  cache_resource_templates: true\n  app_name_tag: app\n  app_url: https://apps/{app_name}\n"
    )
    result = dg.materialize([self_service_typeahead], instance=instance, resources=build_resources(str(cfg)))
    assert result.success

    cached = json.loads(redis_client.get(KEY))
    entries = cached["typeahead_entries"]
    assert [(e["icon"], e["display_text"], e["account"], e["application_name"]) for e in entries] == [
        ("users", "app-role", None, None),  # iam_role templates only
        ("user", "a-role", "demo-prod", None),
        ("user", "b-role", "demo-prod", "billing"),
        ("user", "z-role", staging, None),  # a suspended account is not in the name map
        ("user", "alice", "demo-prod", None),
    ]
    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    assert json.loads(gzip.decompress(body))["data"] == cached
    meta = result.asset_materializations_for_node("self_service_typeahead")[0].metadata
    assert meta["entries_by_kind"].value == {"templates": 1, "roles": 3, "users": 1}
    assert "arn:aws:iam::222222222222:role/broken" in meta["entries_skipped"].value[0]


def test_empty_role_cache_never_replaces_a_typeahead_listing_roles(sandbox_env, instance, resources, redis_client):
    assert dg.materialize([self_service_typeahead], instance=instance, resources=resources).success
    assert json.loads(redis_client.get(KEY)) == {"typeahead_entries": []}  # fresh install: nothing to lose

    good = role("222222222222", "a-role")
    redis_client.hset("IAM_ROLE_CACHE", good["arn"], json.dumps(good))
    assert dg.materialize([self_service_typeahead], instance=instance, resources=resources).success
    before = redis_client.get(KEY)
    redis_client.delete("IAM_ROLE_CACHE")
    result = dg.materialize([self_service_typeahead], instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    assert "IAM_ROLE_CACHE has no readable roles" in str(result.get_step_failure_events()[0].step_failure_data)
    assert redis_client.get(KEY) == before
