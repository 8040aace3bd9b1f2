"""Bad input stops before any cache is touched, with an error naming the thing at fault."""

import time

import pytest

from consoleme_assets.cli import main
from consoleme_assets.sandbox.servers import free_port


@pytest.fixture
def cli(sandbox_env, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def run(*args: str) -> tuple[int, str]:
        code = main(list(args))
        return code, capsys.readouterr().err

    return run


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "text, named",
    [
        ("redis: {port: [1]\n", "bad.yaml"),  # malformed YAML: the file is named
        ("redis: {port: not-a-port}\n", "key 'redis.port'"),  # wrong type: the key is named
        ("consoleme_assets: {max_concurrent_accounts: -3}\n", "key 'consoleme_assets.max_concurrent_accounts'"),
        ("account_ids_to_name: {'12345': short}\n", "12345"),  # an account id that is not 12 digits
    ],
    ids=["malformed-yaml", "wrong-type", "out-of-range", "short-account-id"],
)
def test_bad_settings_are_named_and_nothing_is_written(cli, tmp_path, redis_client, text, named):
    code, err = cli("--config", write(tmp_path, "bad.yaml", text), "refresh")
    assert code == 2 and named in err, err
    assert redis_client.keys("*") == []


def test_unknown_keys_are_ignored_not_fatal(cli, tmp_path, sandbox_env, redis_client):
    cfg = write(tmp_path, "extra.yaml", f"extends: {sandbox_env['CONSOLEME_ASSETS_CONFIG']}\nnot_a_consoleme_key: 1\n")
    code, err = cli("--config", cfg, "refresh", "--select", "aws_accounts")
    assert code == 0, err


def test_bad_account_ids_and_closed_accounts(cli, demo_org, redis_client):
    code, err = cli("refresh", "--accounts", "1234567890123")
    assert code == 2 and "'1234567890123'" in err
    assert cli("refresh", "--select", "aws_accounts")[0] == 0
    before = redis_client.dump("ALL_AWS_ACCOUNTS")
    closed = next(iter(demo_org.closed_accounts))
    code, err = cli("refresh", "--select", "s3_buckets", "--accounts", closed)
    assert code == 2 and f"{closed} are not account partitions (closed, suspended" in err
    assert redis_client.dump("ALL_AWS_ACCOUNTS") == before and not redis_client.exists("S3_BUCKETS")


def test_unreachable_redis_is_named_without_its_password(cli, monkeypatch, demo_org):
    url = f"redis://:pa55-w0rd-xyz@127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("REDIS_URL", url)
    t0 = time.monotonic()
    code, err = cli("refresh")
    assert code == 2 and time.monotonic() - t0 < 10, err
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in err
    assert "pa55-w0rd-xyz" not in err
