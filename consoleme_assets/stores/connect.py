"""Opening the stores: the Redis client (and a fail-fast reachability check) and the S3/DynamoDB handles on the
hub's credentials. Nothing outside stores/ builds or holds one of these clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from ..settings import Settings
from ..settings.redis_url import redact_url
from .caches import ConsoleMeCaches
from .dynamo_store import DynamoStore
from .redis_store import RedisStore
from .s3_store import S3Store

if TYPE_CHECKING:
    from ..aws.sessions import AwsSessions


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
        raise RedisUnreachable(f"cannot reach Redis at {redact_url(url)}: {type(exc).__name__}: {exc}{hint}") from None
    finally:
        client.close()


def open_caches(settings: Settings, sessions: AwsSessions) -> ConsoleMeCaches:
    """ConsoleMe's caches for one run: Redis at the settings' URL, S3 and DynamoDB with the hub's credentials
    (writers skip S3 when no bucket is configured)."""
    return ConsoleMeCaches(
        settings,
        RedisStore(redis_client_for(settings.effective_redis_url), settings.redis_keys.last_updated),
        S3Store(sessions.client("s3")),
        DynamoStore(
            sessions.hub.resource(
                "dynamodb",
                region_name=settings.region,
                endpoint_url=settings.effective_dynamodb_endpoint,
                config=sessions.config,
            )
        ),
    )
