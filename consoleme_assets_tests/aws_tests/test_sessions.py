"""The session factory against a real moto server: assume-role isolation, caching, errors."""

import gc
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import botocore.session
import pytest
from botocore.exceptions import NoCredentialsError

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


def test_every_factory_in_a_process_shares_one_model_loader(tmp_path, aws_env, demo_org):
    """A run, a sensor tick or a CLI command opening the caches builds a new factory: it must not read and parse
    botocore's models again (about 0.2 s of CPU each time), nor grow the loader's search path."""
    settings = settings_for(tmp_path, SPOKE, aws_env)
    first = AwsSessions(settings)
    first.client("iam", account_id=demo_org.member_account_ids[0])
    loader = first.hub._session.get_component("data_loader")
    paths = list(loader.search_paths)
    for _ in range(3):
        again = AwsSessions(settings)
        assert again.hub._session.get_component("data_loader") is loader
        assert again.hub.resource("dynamodb").meta.client.meta.service_model.service_name == "dynamodb"
        again.client("iam", account_id=demo_org.member_account_ids[1]).list_roles()
    assert loader.search_paths == paths
    # A factory on a hub session of the caller's own keeps that session's loader (tests, explicit profiles).
    own = boto3.Session(region_name="us-east-1")
    assert AwsSessions(settings, hub_session=own).hub._session.get_component("data_loader") is not loader


# -- one shared session: bounded, isolated, refreshing (issue 23 item 1) ------------------------------------------

SPOKE = "policies: {role_name: ConsoleMe}\n"
# Moto issues credentials for any account id: more accounts than the demo organisation has.
EXTRA_ACCOUNTS = [f"2000000000{i:02d}" for i in range(12)]


def _signing_key(request) -> str:
    """The access key a request was signed with (SigV4's Authorization header)."""
    header = request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    return re.search(r"Credential=([^/]+)/", header).group(1)


def _record_assume_role(sessions: AwsSessions, handler) -> None:
    """`handler(parsed)` after every AssumeRole the factory sends (through the hub's cached STS client)."""
    sessions._sts().meta.events.register("after-call.sts.AssumeRole", lambda parsed, **kw: handler(parsed))


def _live_botocore_sessions() -> int:
    gc.collect()
    return sum(isinstance(o, botocore.session.Session) for o in gc.get_objects())


def test_accounts_share_one_session_and_the_caches_are_bounded(tmp_path, aws_env, demo_org):
    """Memory is flat in the number of accounts: no session per account; clients and credentials in bounded LRUs."""
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    sessions.max_cached_clients = 3
    sessions.max_cached_credentials = 2
    sessions.client("sts")  # the hub's, made before counting
    before = _live_botocore_sessions()
    for account_id in demo_org.member_account_ids + EXTRA_ACCOUNTS:
        for service in ("iam", "sts"):
            sessions.client(service, account_id=account_id)
        assert sessions.client("sts", account_id=account_id).get_caller_identity()["Account"] == account_id
        assert len(sessions._clients) <= 3 and len(sessions._credentials) <= 2
    assert _live_botocore_sessions() <= before


def test_evicted_credentials_are_assumed_again(tmp_path, aws_env, demo_org):
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    sessions.max_cached_credentials = 1
    issued = []
    _record_assume_role(sessions, lambda parsed: issued.append(parsed["AssumedRoleUser"]["Arn"].split(":")[4]))
    first, second = demo_org.member_account_ids[:2]
    for account_id in (first, first, second, first):
        sessions.credentials(account_id)
    assert issued == [first, second, first]


def test_account_credentials_never_sign_for_another_account(tmp_path, aws_env, demo_org):
    """Accounts built in parallel from the one shared session: every request of account A is signed with keys STS
    issued for A, and moto identifies it as A."""
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    accounts = demo_org.member_account_ids + EXTRA_ACCOUNTS
    issued: dict[str, set[str]] = defaultdict(set)
    _record_assume_role(
        sessions,
        lambda parsed: issued[parsed["AssumedRoleUser"]["Arn"].split(":")[4]].add(parsed["Credentials"]["AccessKeyId"]),
    )
    signed: list[tuple[str | None, str]] = []

    def identify(account_id: str | None, service: str, region: str) -> None:
        client = sessions.client(service, account_id=account_id, region=region)
        client.meta.events.register(
            "before-send", lambda request, **kw: signed.append((account_id, _signing_key(request))), unique_id="t"
        )
        if service == "sts":
            assert client.get_caller_identity()["Account"] == (account_id or "123456789012")
        else:
            client.list_account_aliases()

    work = [(a, s, r) for a in [*accounts, None] for s in ("sts", "iam") for r in ("us-east-1", "us-west-2")]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda args: identify(*args), work * 2))
    assert {a for a, _ in signed} == {*accounts, None}
    for account_id, key in signed:
        if account_id is None:
            assert key == "testing"  # the hub's own
        else:
            assert key in issued[account_id]
    assert len(set().union(*issued.values())) == sum(len(keys) for keys in issued.values())  # no key shared


def test_shared_account_session_never_falls_back_to_ambient_credentials(tmp_path, aws_env):
    """A client made from the accounts' shared session without an account's credentials cannot sign as the hub."""
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    client = sessions._accounts.client("sts", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    with pytest.raises(NoCredentialsError):
        client.get_caller_identity()


def test_credentials_refresh_before_expiry_in_the_cached_client(tmp_path, aws_env, demo_org):
    """Assumed credentials inside botocore's refresh window are refreshed before the next request is signed, by the
    client itself (as with a session per account): a client held across the expiry keeps working."""
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    member = demo_org.member_account_ids[0]
    issued = []

    def first_expires_soon(parsed) -> None:
        issued.append(parsed["Credentials"]["AccessKeyId"])
        if len(issued) == 1:  # within the mandatory refresh window (10 minutes)
            parsed["Credentials"]["Expiration"] = datetime.now(UTC) + timedelta(minutes=5)

    _record_assume_role(sessions, first_expires_soon)
    client = sessions.client("sts", account_id=member)
    signed = []
    client.meta.events.register("before-send", lambda request, **kw: signed.append(_signing_key(request)))
    assert len(issued) == 1
    assert client.get_caller_identity()["Account"] == member
    assert len(issued) == 2 and issued[0] != issued[1]
    assert signed == [issued[1]]
    assert sessions.client("sts", account_id=member) is client  # refreshed in place, not rebuilt
    assert client.get_caller_identity()["Account"] == member
    assert len(issued) == 2 and signed == [issued[1], issued[1]]  # fresh for an hour: no further AssumeRole


def test_for_account_sessions_use_the_cached_credentials(tmp_path, aws_env, demo_org):
    """`for_account` (AWS Config's per-account session) and `client` share one AssumeRole per account."""
    sessions = AwsSessions(settings_for(tmp_path, SPOKE, aws_env))
    member = demo_org.member_account_ids[0]
    issued = []
    _record_assume_role(sessions, issued.append)
    sessions.client("iam", account_id=member)
    session = sessions.for_account(member)
    assert session.get_credentials() is sessions.credentials(member)
    own = sessions.session_on(session.get_credentials())
    assert own.client("sts").get_caller_identity()["Account"] == member
    assert len(issued) == 1
