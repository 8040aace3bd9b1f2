"""ConsoleMe's storage formats in one place: Redis strings and hashes, the S3 envelope, the LAST_UPDATED stamp."""

from .encoding import dumps_consoleme, envelope, open_envelope
from .redis_store import RedisStore
from .s3_store import S3Store

__all__ = ["RedisStore", "S3Store", "dumps_consoleme", "envelope", "open_envelope"]
