"""S3 copies in ConsoleMe's envelope, written with our own (hub) credentials."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .encoding import StringMap, envelope, open_envelope, write_envelope


class S3Store:
    def __init__(self, client: Any, clock: Callable[[], float] = time.time):
        self.client = client
        self.clock = clock

    def put_json(self, bucket: str, key: str, data: Any) -> int:
        """Write `data` in the envelope; gzip when the key ends with `.gz`. Returns the bytes written.

        A `StringMap` is streamed through a spooled temporary file (memory up to 16 MiB, then disk)."""
        if isinstance(data, StringMap):
            with tempfile.SpooledTemporaryFile(max_size=16 * 2**20) as body:
                write_envelope(body, data, int(self.clock()), gz=key.endswith(".gz"))
                size = body.tell()
                body.seek(0)
                self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentLength=size)
            return size
        body = envelope(data, int(self.clock()), gz=key.endswith(".gz"))
        self.client.put_object(Bucket=bucket, Key=key, Body=body)
        return len(body)

    def get_envelope(self, bucket: str, key: str) -> dict[str, Any] | None:
        """The whole envelope, or None if the object does not exist."""
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return open_envelope(body, gz=key.endswith(".gz"))

    def get_json(self, bucket: str, key: str) -> Any:
        env = self.get_envelope(bucket, key)
        return None if env is None else env["data"]


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
