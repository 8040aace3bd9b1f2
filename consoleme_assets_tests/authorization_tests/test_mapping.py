"""Credential authorization mapping (spec §6.4): pure generators and the asset end to end."""

import json
import logging
import textwrap

import dagster as dg

from consoleme_assets.authorization import mapping as build
from consoleme_assets.definitions import build_resources
from consoleme_assets.settings.model import CredentialMappingSettings
from consoleme_assets_tests.catalog import credential_authorization_mappings

R1, R2 = "arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:role/ReadOnly"
TRUST = {"Statement": [{"Principal": {"AWS": "arn:aws:iam::123456789012:role/ConsoleMeInstanceProfile"}}]}


def roles():
    return [
        (
            R1,
            {
                "AssumeRolePolicyDocument": TRUST,
                "Tags": [{"Key": "consoleme-authorized", "Value": "GroupA:groupb"}, {"Key": "cli", "Value": "groupc"}],
            },
        ),
        (R2, {"AssumeRolePolicyDocument": {}, "Tags": [{"Key": "consoleme-authorized", "Value": "groupa"}]}),
    ]


def test_role_tags_static_and_reverse():
    rules = CredentialMappingSettings(
        authorized_groups_tags=["consoleme-authorized"],
        authorized_groups_cli_only_tags=["cli"],
        group_mapping={"team@example.com": {"roles": [R2], "cli_only_roles": [R1]}},
    )
    mapping = build.to_json_ready(build.build_mapping(roles(), rules))
    assert mapping["GroupA"] == {"authorized_roles": [R1], "authorized_roles_cli_only": []}
    assert mapping["groupa"] == {"authorized_roles": [R2], "authorized_roles_cli_only": []}
    assert mapping["groupc"] == {"authorized_roles": [], "authorized_roles_cli_only": [R1]}
    assert mapping["team@example.com"] == {"authorized_roles": [R2], "authorized_roles_cli_only": [R1]}
    rev = build.reverse(build.build_mapping(roles(), rules))
    assert sorted(rev[R1.lower()]) == sorted(["GroupA", "groupb", "groupc", "team@example.com"])


def test_lowercase_and_required_trust_entity():
    rules = CredentialMappingSettings(
        authorized_groups_tags=["consoleme-authorized"],
        force_groups_lowercase=True,
        required_trust_policy_entity="ConsoleMeInstanceProfile",
    )
    mapping = build.to_json_ready(build.build_mapping(roles(), rules))
    assert mapping == {
        "groupa": {"authorized_roles": [R1], "authorized_roles_cli_only": []},
        "groupb": {"authorized_roles": [R1], "authorized_roles_cli_only": []},
    }


def materialize_mapping(instance, resources):
    return dg.materialize(
        [credential_authorization_mappings], instance=instance, resources=resources, raise_on_error=False
    )


def test_asset_writes_both_keys_from_seeded_role_tags(iam_ready, instance, resources, redis_client, demo_org):
    assert materialize_mapping(instance, resources).success
    forward = json.loads(redis_client.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1"))
    reverse = json.loads(redis_client.get("REVERSE_AUTHORIZATION_MAPPING_V1"))
    roles = json.loads(json.dumps({k: json.loads(v) for k, v in redis_client.hgetall("IAM_ROLE_CACHE").items()}))
    expected = {}
    for arn, entry in roles.items():
        for tag in json.loads(entry["policy"]).get("Tags", []):
            if tag["Key"] == "consoleme-authorized":
                for group in tag["Value"].split(":"):
                    expected.setdefault(group, set()).add(arn)
    assert expected, "the seed tags roles for ConsoleMe"
    assert {g: set(v["authorized_roles"]) for g, v in forward.items() if v["authorized_roles"]} == expected
    for group, arns in expected.items():
        for arn in arns:
            assert group in reverse[arn.lower()]
    assert redis_client.hexists(
        "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED", "CREDENTIAL_AUTHORIZATION_MAPPING_V1"
    )


def test_never_replaces_a_good_mapping_with_an_empty_one(
    iam_ready, instance, resources, redis_client, tmp_path, sandbox_env
):
    assert materialize_mapping(instance, resources).success
    before = redis_client.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1")
    cfg = tmp_path / "no-tags.yaml"  # a config change that would grant nothing
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "cloud_credential_authorization_mapping: {role_tags: {authorized_groups_tags: [none], "
        "authorized_groups_cli_only_tags: [none]}}\n"
    )
    result = materialize_mapping(instance, build_resources(str(cfg)))
    assert not result.success
    assert "keeping the cached mapping" in str(
        result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    )
    assert redis_client.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1") == before
    # Roles missing (Redis lost and refilling): no mapping without the role-tag grants. The run stays green, as
    # the schedule and the sensor skip in that state; nothing is materialized and the log says why.
    redis_client.delete("IAM_ROLE_CACHE")
    result = materialize_mapping(instance, resources)
    assert result.success
    assert result.get_asset_materialization_events() == []
    warnings = [
        e.message for e in instance.all_logs(result.run_id) if e.level >= logging.WARNING and e.step_key is not None
    ]
    assert any("IAM_ROLE_CACHE is empty" in m and "cached mapping is kept" in m for m in warnings), warnings
    assert redis_client.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1") == before


def test_internal_plugin_through_a_real_entry_point(
    iam_ready, instance, redis_client, tmp_path, sandbox_env, monkeypatch
):
    site = tmp_path / "site"
    (site / "acme_groups").mkdir(parents=True)
    (site / "acme_groups" / "__init__.py").write_text(
        textwrap.dedent("""
        def add_oncall(mapping):
            mapping.setdefault("oncall@acme.example", {"authorized_roles": set(), "authorized_roles_cli_only": set()})
            mapping["oncall@acme.example"]["authorized_roles"].add("arn:aws:iam::111122223333:role/Break-Glass")
            return mapping
    """)
    )
    dist = site / "acme_groups-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-groups\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[consoleme_assets.plugins]\nacme = acme_groups:add_oncall\n")
    monkeypatch.syspath_prepend(str(site))
    cfg = tmp_path / "plugin.yaml"
    cfg.write_text(
        f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n"
        "cloud_credential_authorization_mapping: {internal_plugin: {enabled: true}}\n"
        "consoleme_assets: {plugins: {group_mapping: acme}}\n"
    )
    assert materialize_mapping(instance, build_resources(str(cfg))).success
    forward = json.loads(redis_client.get("CREDENTIAL_AUTHORIZATION_MAPPING_V1"))
    assert forward["oncall@acme.example"]["authorized_roles"] == ["arn:aws:iam::111122223333:role/Break-Glass"]

    cfg.write_text(cfg.read_text().replace("group_mapping: acme", "group_mapping: missing"))
    result = materialize_mapping(instance, build_resources(str(cfg)))
    assert not result.success
    assert "no entry point 'missing'" in str(result.get_step_failure_events()[0].step_failure_data.error)


def test_schedule_skips_with_its_reason_while_iam_is_empty(sandbox_env, instance, redis_client, iam_ready):
    """A new install: the 5-minute schedule waits for the first IAM refresh (grey, with the reason) instead of
    launching a run bound to fail (red); once IAM_ROLE_CACHE has roles it asks for a run."""
    from consoleme_assets_tests.catalog import schedule

    credential_mapping_every_5_minutes = schedule("credential_mapping_every_5_minutes")

    def tick():
        with dg.build_schedule_context(instance=instance, resources=build_resources()) as context:
            return credential_mapping_every_5_minutes(context)

    assert isinstance(tick(), dg.RunRequest)  # iam_ready filled IAM_ROLE_CACHE
    redis_client.delete("IAM_ROLE_CACHE")
    skipped = tick()
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == "IAM_ROLE_CACHE is empty: waiting for the first iam_resources refresh"
