"""The one resource every asset uses: settings plus Redis, S3 and AWS clients built from them."""


from typing import Any

import dagster as dg
import redis
from pydantic import PrivateAttr

from .aws.sessions import AwsSessions
from .datasets import STORAGE
from .settings.redis_url import redact_url
from .settings import Settings, load_settings
from .stores import RedisStore, S3Store
from .stores.dynamo_store import DynamoStore
from .stores.caches import ConsoleMeCaches


def redis_client_for(url: str) -> redis.Redis:
    # decode_responses: ConsoleMe's web tier reads strings; timeouts so a dead Redis fails a run, not hangs it.
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30
    )


class RedisUnreachable(RuntimeError):
    """Redis did not answer PING; the message names the URL without its password."""


def check_redis(url: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the (redacted) URL, when Redis cannot be reached or refuses our credentials."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=None)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:  # connection refused, timeout, wrong password, TLS failure
        hint = ""
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = " (a private CA is trusted with ?ssl_ca_certs=/path/to/ca.pem in REDIS_URL)"
        raise RedisUnreachable(
            f"cannot reach Redis at {redact_url(url)}: {type(exc).__name__}: {exc}{hint}"
        ) from None
    finally:
        client.close()


class ConsoleMeResource(dg.ConfigurableResource):
    """Settings from `config_file` (default: $CONSOLEME_ASSETS_CONFIG, else the shipped default)."""

    config_file: str | None = None

    _settings: Settings | None = PrivateAttr(default=None)
    _sessions: AwsSessions | None = PrivateAttr(default=None)
    _redis: Any = PrivateAttr(default=None)
    _caches: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_settings(self.config_file)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def sessions(self) -> AwsSessions:
        if self._sessions is None:
            self._sessions = AwsSessions(self.settings)
        return self._sessions

    @property
    def redis_client(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis_client_for(self.settings.effective_redis_url)
        return self._redis

    def caches(self) -> ConsoleMeCaches:
        """One per resource instance (per run), so S3 files read for hydration are read once."""
        if self._caches is None:
            settings = self.settings
            self._caches = ConsoleMeCaches(
                settings,
                RedisStore(self.redis_client, settings.redis_keys.last_updated),
                S3Store(self.sessions.client("s3")),  # writers skip S3 when no bucket is configured
                DynamoStore(
                    self.sessions.hub.resource(
                        "dynamodb",
                        region_name=settings.region,
                        endpoint_url=settings.effective_dynamodb_endpoint,
                        config=self.sessions.config,
                    )
                ),
                storage=STORAGE,  # each dataset's storage, from its declaration
            )
        return self._caches

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._redis is not None:
            self._redis.close()
