"""The session factory against a real moto server: assume-role isolation, caching, errors."""

import boto3
import pytest

from consoleme_assets.aws.sessions import AccountAccessError, AwsSessions
from consoleme_assets.settings import load_settings


def settings_for(tmp_path, text, env):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return load_settings(cfg, env=env)


def test_assumed_sessions_see_only_their_account(tmp_path, aws_env, demo_org):
    sessions = AwsSessions(settings_for(tmp_path, "policies: {role_name: ConsoleMe}\n", aws_env))
    for account_id in demo_org.member_account_ids:
        names = [b["Name"] for b in sessions.client("s3", account_id=account_id).list_buckets()["Buckets"]]
        assert sorted(names) == demo_org.buckets[account_id]
        identity = sessions.client("sts", account_id=account_id).get_caller_identity()
        assert identity["Account"] == account_id
        assert ":assumed-role/ConsoleMe/consoleme-assets" in identity["Arn"]


def test_without_spoke_role_uses_own_credentials(tmp_path, aws_env, demo_org):
    sessions = AwsSessions(settings_for(tmp_path, "{}\n", aws_env))
    member = demo_org.member_account_ids[0]
    assert sessions.for_account(member) is sessions.hub
    assert sessions.client("sts", account_id=member).get_caller_identity()["Account"] == "123456789012"


def test_one_assume_role_per_account_and_external_id(tmp_path, aws_env, demo_org):
    sessions = AwsSessions(
        settings_for(
            tmp_path,
            "policies: {role_name: ConsoleMe}\nconsoleme_assets: {spoke_role_external_id: ext-123}\n",
            aws_env,
        )
    )
    calls = []
    hub_client = sessions._sts  # record every AssumeRole the factory sends

    def recording_sts():
        client = hub_client()
        client.meta.events.register(
            "before-parameter-build.sts.AssumeRole", lambda params, **kw: calls.append(dict(params))
        )
        return client

    sessions._sts = recording_sts
    member = demo_org.member_account_ids[0]
    for service in ("s3", "sqs", "sns", "iam"):
        sessions.client(service, account_id=member)
    sessions.client("s3", account_id=member, region="us-west-2")
    assert len(calls) == 1
    assert calls[0]["ExternalId"] == "ext-123"
    assert calls[0]["RoleArn"] == f"arn:aws:iam::{member}:role/ConsoleMe"


def test_clients_use_standard_retries_by_default(tmp_path, aws_env):
    sessions = AwsSessions(settings_for(tmp_path, "consoleme_assets: {aws_max_attempts: 7}\n", aws_env))
    retries = sessions.client("s3").meta.config.retries
    assert retries["mode"] == "standard" and retries["total_max_attempts"] == 7


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_retry_mode_comes_from_settings(tmp_path, aws_env, mode):
    sessions = AwsSessions(settings_for(tmp_path, f"consoleme_assets: {{aws_retry_mode: {mode}}}\n", aws_env))
    assert sessions.client("iam").meta.config.retries["mode"] == mode


def test_unknown_retry_mode_names_the_key(tmp_path, aws_env):
    with pytest.raises(Exception, match=r"aws_retry_mode") as err:
        settings_for(tmp_path, "consoleme_assets: {aws_retry_mode: legacy-ish}\n", aws_env)
    assert "legacy-ish" in str(err.value) or "standard" in str(err.value)


def test_unreachable_sts_names_the_account(tmp_path, aws_env):
    settings = settings_for(
        tmp_path,
        "policies: {role_name: ConsoleMe}\naws: {sts_endpoint_url: 'http://127.0.0.1:9'}\n"
        "consoleme_assets: {aws_max_attempts: 1}\n",
        aws_env,
    )
    with pytest.raises(
        AccountAccessError, match=r"account 111122223333: cannot assume arn:aws:iam::111122223333:role/ConsoleMe"
    ):
        AwsSessions(settings).client("s3", account_id="111122223333")


def test_credentials_never_appear_in_errors(tmp_path, aws_env):
    settings = settings_for(
        tmp_path,
        "policies: {role_name: ConsoleMe}\naws: {sts_endpoint_url: 'http://127.0.0.1:9'}\n"
        "consoleme_assets: {aws_max_attempts: 1}\n",
        aws_env,
    )
    with pytest.raises(AccountAccessError) as err:
        AwsSessions(
            settings,
            hub_session=boto3.Session(
                aws_access_key_id="AKIDSECRETVALUE1", aws_secret_access_key="very-secret-key", region_name="us-east-1"
            ),
        ).for_account("111122223333")
    assert "very-secret-key" not in str(err.value) and "AKIDSECRETVALUE1" not in str(err.value)


def test_client_cache_is_bounded_and_keeps_recent_clients(tmp_path, aws_env, demo_org):
    """Memory stays flat in the number of accounts: old accounts' clients are dropped, recent ones reused."""
    sessions = AwsSessions(settings_for(tmp_path, "policies: {role_name: ConsoleMe}\n", aws_env))
    sessions.max_cached_clients = 3
    members = demo_org.member_account_ids
    first = sessions.client("s3", account_id=members[0])
    for account_id in members[1:]:
        sessions.client("s3", account_id=account_id)
        assert sessions.client("s3", account_id=members[0]) is first  # used again: stays cached
    for region in ("us-west-1", "us-west-2", "eu-west-1"):
        sessions.client("sqs", account_id=members[1], region=region)
    assert len(sessions._clients) == 3
    assert sessions.client("s3", account_id=members[0]) is not first  # evicted, rebuilt on demand
    assert sessions.client("s3", account_id=members[0]).list_buckets()["Buckets"] is not None


def test_shared_model_loader_search_path_does_not_grow_per_account(tmp_path, aws_env, demo_org):
    sessions = AwsSessions(settings_for(tmp_path, "policies: {role_name: ConsoleMe}\n", aws_env))
    loader = sessions.hub._session.get_component("data_loader")
    sessions.client("s3", account_id=demo_org.member_account_ids[0])
    before = list(loader.search_paths)
    for account_id in demo_org.member_account_ids[1:]:
        sessions.client("s3", account_id=account_id)
    assert loader.search_paths == before and len(set(before)) == len(before)
