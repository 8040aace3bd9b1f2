"""The shared resource: settings plus clients, against real servers."""

import pytest
import redis

from consoleme_assets.accounts.datasets import AWS_ACCOUNTS
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.sandbox import start_redis_server
from consoleme_assets.settings.redis_url import redact_url


def test_password_protected_redis_via_redis_url(monkeypatch, tmp_path):
    with start_redis_server(password="s3cret-pw", kind="redis-server") as server:
        cfg = tmp_path / "c.yaml"
        cfg.write_text("{}\n")
        monkeypatch.setenv("REDIS_URL", f"redis://:s3cret-pw@127.0.0.1:{server.port}/0")
        resource = ConsoleMeResource(config_file=str(cfg))
        resource.caches().redis.set_json("ALL_AWS_ACCOUNTS", {"accounts": []})
        check = redis.Redis(port=server.port, password="s3cret-pw", decode_responses=True)
        assert check.get("ALL_AWS_ACCOUNTS") == '{"accounts": []}'
        monkeypatch.setenv("REDIS_URL", f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(redis.AuthenticationError):
            ConsoleMeResource(config_file=str(cfg)).caches().read_json(AWS_ACCOUNTS.storage)


def test_redact_url_hides_only_the_password():
    assert redact_url("rediss://user:pw@cache.example:6390/2") == "rediss://user:***@cache.example:6390/2"
    assert redact_url("redis://cache.example:6379/0") == "redis://cache.example:6379/0"
