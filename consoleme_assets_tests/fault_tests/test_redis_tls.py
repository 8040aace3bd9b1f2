"""Redis with a password over TLS (rediss://), against Debian's redis-server with a CA made at test time.

A production user trusts a private CA through redis-py's URL options, which REDIS_URL passes through:
``rediss://:PASSWORD@host:6380/0?ssl_ca_certs=/path/to/ca.pem`` (client certificates: ``ssl_certfile`` and
``ssl_keyfile``). The URL is always shown redacted.
"""

import json
import os
import subprocess
import sys

import pytest

from consoleme_assets.lib.resources import ConsoleMeResource, RedisUnreachable, check_redis
from consoleme_assets.settings import SettingsError, load_settings
from consoleme_assets.settings.redis_url import redact_url, redis_url_problem
from consoleme_assets_tests.faults.tls import TestCA, TlsUnsupported, start_tls_redis

PASSWORD = "tls-P4ss-5e1f"  # the tests assert it never appears in any output


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    return {"ca": TestCA(directory), "rogue": TestCA(directory, name="rogue CA")}


@pytest.fixture(scope="module")
def tls_redis(pki):
    try:
        server = start_tls_redis(pki["ca"], PASSWORD)
    except TlsUnsupported as exc:
        pytest.skip(f"this redis-server was built without TLS support: {exc}")
    with server:
        yield server


@pytest.fixture
def tls_env(sandbox_env, tls_redis, tmp_path, monkeypatch):
    """The seeded sandbox, with REDIS_URL pointing at the TLS Redis (its CA trusted through the URL)."""
    tls_redis.client().flushall()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    url = tls_redis.url(ssl_ca_certs=str(tls_redis.ca.cert_path))
    monkeypatch.setenv("REDIS_URL", url)
    return {**sandbox_env, "REDIS_URL": url, "DAGSTER_HOME": str(home)}


def run_cli(env, *args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "consoleme_assets.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_refresh_over_tls_with_password_and_private_ca(tls_env, tls_redis, demo_org, redis_client, tmp_path):
    proc = run_cli(tls_env, "refresh", "--select", "aws_accounts,iam_resources,s3_buckets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    n = len(demo_org.accounts)
    assert f"s3_buckets: {n}/{n} accounts" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr

    landed = tls_redis.client()
    assert json.loads(landed.get("ALL_AWS_ACCOUNTS"))["accounts"]
    assert {k: json.loads(v) for k, v in landed.hgetall("S3_BUCKETS").items()} == demo_org.buckets
    roles = {arn for arns in demo_org.roles.values() for arn in arns}
    assert roles <= set(landed.hkeys("IAM_ROLE_CACHE"))  # written in WATCH/MULTI transactions, over TLS
    assert redis_client.keys("*") == []  # nothing went to the session's plaintext Redis
    # The server has no plaintext listener: these keys can only have arrived over TLS.
    assert landed.config_get("port") == {"port": "0"}
    assert landed.config_get("tls-port") == {"tls-port": str(tls_redis.port)}


def test_dagster_resource_writes_over_tls(tls_env, tls_redis):
    """The resource every asset uses (schedules and sensors, not only the CLI) connects with the URL's options."""
    resource = ConsoleMeResource()
    resource.caches().redis.set_json("ALL_AWS_ACCOUNTS", {"accounts": []})
    assert tls_redis.client().get("ALL_AWS_ACCOUNTS") == '{"accounts": []}'
    assert resource.caches().redis.client.connection_pool.connection_kwargs["ssl_ca_certs"] == str(
        tls_redis.ca.cert_path
    )


def test_untrusted_certificate_fails_clearly_without_the_password(tls_env, tls_redis, pki, tmp_path):
    # The common mistake: rediss:// without trusting the private CA (the system store does not know it).
    env = {**tls_env, "REDIS_URL": tls_redis.url()}
    proc = run_cli(env, "refresh", "--select", "aws_accounts", cwd=tmp_path)
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert f"cannot reach Redis at rediss://:***@127.0.0.1:{tls_redis.port}/0:" in proc.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in proc.stderr and "ssl_ca_certs=" in proc.stderr  # the cause and the fix
    assert PASSWORD not in out
    assert tls_redis.client().keys("*") == []  # nothing ran

    # A CA that did not issue the server's certificate.
    wrong_ca = tls_redis.url(ssl_ca_certs=str(pki["rogue"].cert_path))
    with pytest.raises(RedisUnreachable) as err:
        check_redis(wrong_ca, timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value) and PASSWORD not in str(err.value)
    assert str(err.value).startswith(f"cannot reach Redis at {redact_url(wrong_ca)}: ")
    assert f"ssl_ca_certs={pki['rogue'].cert_path}" in str(err.value)  # which CA was used is visible


def test_wrong_password_and_plaintext_client_are_refused(tls_redis):
    ca = str(tls_redis.ca.cert_path)
    with pytest.raises(RedisUnreachable) as err:
        check_redis(tls_redis.url(ssl_ca_certs=ca).replace(PASSWORD, "not-the-password"), timeout=5)
    assert "AuthenticationError" in str(err.value) and "not-the-password" not in str(err.value)
    with pytest.raises(RedisUnreachable) as err:  # redis:// to a TLS port
        check_redis(f"redis://:{PASSWORD}@127.0.0.1:{tls_redis.port}/0", timeout=5)
    assert PASSWORD not in str(err.value)
    check_redis(tls_redis.url(ssl_ca_certs=ca), timeout=5)  # and the right one passes


def test_client_certificate_via_url_options(pki):
    """Mutual TLS (tls-auth-clients yes): the client certificate and key are URL options too."""
    try:
        server = start_tls_redis(pki["ca"], PASSWORD, require_client_certs=True)
    except TlsUnsupported as exc:
        pytest.skip(f"this redis-server was built without TLS support: {exc}")
    with server:
        client = pki["ca"].issue("consoleme-assets", server=False)
        ca = str(pki["ca"].cert_path)
        with pytest.raises(RedisUnreachable):
            check_redis(server.url(ssl_ca_certs=ca), timeout=5)
        check_redis(server.url(ssl_ca_certs=ca, ssl_certfile=str(client.cert), ssl_keyfile=str(client.key)), timeout=5)


# -- URL handling, no server needed ---------------------------------------------------------------------------


def test_misspelt_or_misplaced_url_options_stop_at_load_without_the_password(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("{}\n")
    cases = {
        f"rediss://:{PASSWORD}@cache:6380/0?ssl_ca_cert=/etc/ca.pem": "ssl_ca_cert (did you mean ssl_ca_certs?)",
        f"redis://:{PASSWORD}@cache:6379/0?ssl_ca_certs=/etc/ca.pem": "ssl_ca_certs need a rediss:// URL",
        f"rediss://:{PASSWORD}@cache:6380/0?socket_timeout=soon": "Invalid value for 'socket_timeout'",
    }
    for url, expected in cases.items():
        with pytest.raises(SettingsError) as err:
            load_settings(cfg, env={"REDIS_URL": url})
        assert expected in str(err.value) and PASSWORD not in str(err.value)
        assert "rediss://:***@cache" in str(err.value) or "redis://:***@cache" in str(err.value)
    good = f"rediss://:{PASSWORD}@cache:6380/0?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required"
    assert load_settings(cfg, env={"REDIS_URL": good}).effective_redis_url == good  # passed through untouched
    assert redis_url_problem(good) is None


def test_redact_url_hides_every_secret_and_keeps_the_rest():
    assert redact_url(f"rediss://:{PASSWORD}@cache:6380/0?ssl_ca_certs=/etc/ca.pem") == (
        "rediss://:***@cache:6380/0?ssl_ca_certs=/etc/ca.pem"
    )
    # redis-py also takes the password, and a client key's passphrase, as query options.
    assert redact_url(f"rediss://cache:6380/0?password={PASSWORD}&ssl_keyfile=/k.pem&ssl_password=kp") == (
        "rediss://cache:6380/0?password=***&ssl_keyfile=/k.pem&ssl_password=***"
    )
    assert redact_url(f"redis://{PASSWORD}@cache:6379/0") == "redis://***@cache:6379/0"  # colon forgotten
    assert redact_url(f"rediss://admin:{PASSWORD}@[::1]:6380/1") == "rediss://admin:***@[::1]:6380/1"
    assert redact_url(f"unix:///run/redis.sock?db=2&password={PASSWORD}") == "unix:///run/redis.sock?db=2&password=***"
    assert redact_url("unix:///run/redis.sock") == "unix:///run/redis.sock"
    assert redact_url("redis://:ab#cd?ef@cache:6379/0") == "redis://:***@cache:6379/0"  # unencoded '#', '?'
    assert redact_url("redis://:pw@cache:6379/0?client_name=a@b") == "redis://:***@cache:6379/0?client_name=a@b"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"
