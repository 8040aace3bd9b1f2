"""Settings read ConsoleMe's own config files: key names, defaults, extends chains, clear errors."""

import logging
import textwrap
from pathlib import Path

import pytest

from consoleme_assets.settings import DEFAULT_CONFIG_FILE, SettingsError, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_default_file_gives_consoleme_defaults():
    s = load_settings(DEFAULT_CONFIG_FILE, env={})
    assert s.redis_keys.all_accounts == "ALL_AWS_ACCOUNTS"
    assert s.redis_keys.s3_buckets == "S3_BUCKETS"
    assert s.redis_keys.last_updated == "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED"
    assert s.tables.iam_roles == "consoleme_iamroles_global"
    assert s.tables.policy_requests == "consoleme_policy_requests"
    assert s.s3.accounts.key() == "cache_cloud_accounts/accounts_v1.json.gz"
    assert s.s3.s3_buckets.key(account_id="111122223333") == (
        "account_resource_cache/cache_s3_buckets_111122223333_v1.json.gz"
    )
    assert s.s3.sns_combined.key() == "account_resource_cache/cache_sns_topics_combined_v1.json.gz"
    assert s.effective_redis_url == "redis://localhost:6379/0"
    assert s.spoke_role_name is None and s.accounts_from_config and not s.accounts_from_organizations
    assert s.region == "us-east-1" and s.is_active_region


def test_reads_consoleme_keys(tmp_path):
    cfg = write(
        tmp_path / "c.yaml",
        """
        environment: prod
        aws:
          region: eu-west-1
          sts_endpoint_url: https://sts.{region}.example.test
          tags: {owner: owner}
          iamroles_dynamo_table: my_roles
        policies: {role_name: SpokeRole}
        boto3: {client_kwargs: {endpoint_url: http://localhost:4566}}
        redis:
          host: {global: redis.global, eu-west-1: redis.eu}
          port: 6380
          db: 3
          s3_buckets_key: MY_BUCKETS
        celery: {active_region: us-east-1, sync_regions: [eu-west-1]}
        consoleme_s3_bucket: cache-bucket
        account_resource_cache: {s3: {file: "custom/{resource_type}/{account_id}.json.gz"}}
        cache_cloud_accounts: {from_aws_organizations: true}
        cache_accounts_from_aws_organizations:
          - {organizations_master_account_id: "210987654321"}
        account_ids_to_name: {"111122223333": prod, "444455556666": [legacy, ignored]}
        """,
    )
    s = load_settings(cfg, env={})
    assert s.region == "eu-west-1"
    assert s.sts_endpoint() == "https://sts.eu-west-1.example.test"
    assert s.owner_tags == ["owner"]
    assert s.tables.iam_roles == "my_roles"
    assert s.spoke_role_name == "SpokeRole"
    assert s.endpoint_url == s.effective_dynamodb_endpoint == "http://localhost:4566"
    assert s.effective_redis_url == "redis://redis.eu:6380/3"  # the region's host beats global
    assert s.redis_keys.s3_buckets == "MY_BUCKETS"
    assert not s.is_active_region and s.is_replica
    assert s.sync_regions == ["eu-west-1"]
    assert s.s3_bucket_for(s.s3.s3_buckets) == "cache-bucket"
    assert s.s3.s3_buckets.key(account_id="111122223333") == "custom/s3_buckets/111122223333.json.gz"
    assert s.org_role_for(s.organizations[0]) == "SpokeRole"  # defaults to the spoke role, as ConsoleMe
    assert s.account_ids_to_name == {"111122223333": "prod", "444455556666": "legacy"}


def test_extends_chain_extending_file_wins(tmp_path):
    (tmp_path / "base").mkdir()
    write(
        tmp_path / "base" / "common.yaml",
        """
        policies: {role_name: FromCommon}
        redis: {port: 7000, db: 1}
        consoleme_s3_bucket: common-bucket
        """,
    )
    write(
        tmp_path / "base" / "team.yaml",
        """
        extends: [base/common.yaml]
        redis: {port: 7001}
        environment: dev
        """,
    )
    write(tmp_path / "other.yaml", "redis: {port: 7999}\nenvironment: test\n")
    main = write(
        tmp_path / "main.yaml",
        """
        extends: [base/team.yaml, other.yaml]
        policies: {role_name: FromMain}
        """,
    )
    s = load_settings(main, env={})
    assert s.spoke_role_name == "FromMain"  # the extending file wins
    assert s.redis.port == 7001  # earlier extends entries win over later ones
    assert s.redis.db == 1  # nested dicts merge
    assert s.environment == "dev"
    assert s.consoleme_s3_bucket == "common-bucket"  # found two levels down


def test_redis_url_env_overrides_file(tmp_path):
    cfg = write(tmp_path / "c.yaml", "redis: {host: {global: elsewhere}}\n")
    s = load_settings(cfg, env={"REDIS_URL": "rediss://:secret@cache.example:6390/2"})
    assert s.effective_redis_url == "rediss://:secret@cache.example:6390/2"


def test_region_from_environment_when_file_is_silent(tmp_path):
    cfg = write(tmp_path / "c.yaml", "{}\n")
    assert load_settings(cfg, env={"AWS_DEFAULT_REGION": "ap-southeast-2"}).region == "ap-southeast-2"
    assert load_settings(cfg, env={"EC2_REGION": "eu-north-1", "AWS_REGION": "x"}).region == "eu-north-1"


def test_config_file_from_env_variable(tmp_path):
    cfg = write(tmp_path / "c.yaml", "policies: {role_name: ViaEnv}\n")
    assert load_settings(env={"CONSOLEME_ASSETS_CONFIG": str(cfg)}).spoke_role_name == "ViaEnv"


def test_unquoted_account_ids_are_padded(tmp_path):
    cfg = write(tmp_path / "c.yaml", "account_ids_to_name: {12345678901: short-by-yaml}\n")
    assert load_settings(cfg, env={}).account_ids_to_name == {"012345678901": "short-by-yaml"}


def test_wrong_type_names_the_file_and_key(tmp_path):
    write(tmp_path / "base.yaml", "redis: {port: not-a-port}\n")
    main = write(tmp_path / "main.yaml", "extends: [base.yaml]\n")
    with pytest.raises(SettingsError) as err:
        load_settings(main, env={})
    assert str(tmp_path / "base.yaml") in str(err.value)  # the file the bad value came from
    assert "'redis.port'" in str(err.value) and "not-a-port" in str(err.value)


def test_bad_list_item_names_the_item(tmp_path):
    cfg = write(
        tmp_path / "c.yaml",
        """
        cache_accounts_from_aws_organizations:
          - {organizations_master_account_id: "123456789012", organizations_master_role_to_assume: R}
          - {organizations_master_account_id: "12-bad"}
        """,
    )
    with pytest.raises(SettingsError, match=r"cache_accounts_from_aws_organizations\[1\]\.organizations_master"):
        load_settings(cfg, env={})


def test_bad_account_id_in_name_map(tmp_path):
    cfg = write(tmp_path / "c.yaml", "account_ids_to_name: {not-an-account: x}\n")
    with pytest.raises(SettingsError, match=r"account_ids_to_name.*12 digits"):
        load_settings(cfg, env={})


def test_malformed_yaml_names_file_and_line(tmp_path):
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("redis:\n  port: 1\n bad-indent: [\n")
    with pytest.raises(SettingsError, match=r"broken\.yaml: not valid YAML \(line \d+"):
        load_settings(cfg, env={})


def test_top_level_must_be_a_mapping(tmp_path):
    cfg = write(tmp_path / "list.yaml", "- a\n- b\n")
    with pytest.raises(SettingsError, match="list.yaml: the top level must be a mapping"):
        load_settings(cfg, env={})


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SettingsError, match="nope.yaml"):
        load_settings(tmp_path / "nope.yaml", env={})
    main = write(tmp_path / "main.yaml", "extends: [missing-base.yaml]\n")
    with pytest.raises(SettingsError, match="missing-base.yaml"):
        load_settings(main, env={})


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path / "a.yaml", "extends: [b.yaml]\n")
    write(tmp_path / "b.yaml", "extends: [a.yaml]\n")
    with pytest.raises(SettingsError, match="cycle"):
        load_settings(tmp_path / "a.yaml", env={})


def test_organizations_without_role_is_an_error(tmp_path):
    cfg = write(
        tmp_path / "c.yaml",
        """
        cache_cloud_accounts: {from_aws_organizations: true}
        cache_accounts_from_aws_organizations: [{organizations_master_account_id: "123456789012"}]
        """,
    )
    with pytest.raises(SettingsError, match="policies.role_name is not set"):
        load_settings(cfg, env={})


def test_organizations_enabled_without_any_is_an_error(tmp_path):
    cfg = write(tmp_path / "c.yaml", "cache_cloud_accounts: {from_aws_organizations: true}\n")
    with pytest.raises(SettingsError, match="lists no organization"):
        load_settings(cfg, env={})


def test_bad_redis_url_scheme(tmp_path):
    cfg = write(tmp_path / "c.yaml", "{}\n")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(cfg, env={"REDIS_URL": "http://localhost:6379"})


def test_unused_keys_are_listed_at_debug(tmp_path, caplog):
    cfg = write(
        tmp_path / "c.yaml",
        """
        celery: {broker: {global: "redis://x"}, sync_regions: [us-east-1]}
        auth: {get_user_by_header: true}
        """,
    )
    with caplog.at_level(logging.DEBUG, logger="consoleme_assets.settings"):
        load_settings(cfg, env={})
    text = caplog.text
    assert "celery.broker.global" in text and "auth.get_user_by_header" in text
    assert "celery.sync_regions" not in text


def test_reader_key_wins_for_sns_combined_file(tmp_path):
    cfg = write(
        tmp_path / "c.yaml",
        """
        account_resource_cache:
          sns_topics_topics_combined: {file: read/by/web.json.gz}
          "{resource_type}_topics_combined": {file: written/by/celery.json.gz}
        """,
    )
    assert load_settings(cfg, env={}).s3.sns_combined.key() == "read/by/web.json.gz"


def test_configuration_doc_documents_every_key():
    """Every ConsoleMe key the settings read is in the configuration tables of docs/configuration.md."""
    from pathlib import Path

    from pydantic import BaseModel

    from consoleme_assets.settings.model import Settings

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = []

    def walk(model):
        for field in model.model_fields.values():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            for key in (
                extra.get("consoleme_keys", []) + extra.get("s3_bucket_keys", []) + extra.get("s3_file_keys", [])
            ):
                if f"`{key}`" not in doc:
                    missing.append(key)
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                walk(field.annotation)

    walk(Settings)
    assert not missing, f"docs/configuration.md lacks: {missing}"
