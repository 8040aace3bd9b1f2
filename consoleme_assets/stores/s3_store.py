"""S3 copies in ConsoleMe's envelope, written with our own (hub) credentials."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .encoding import StringMap, envelope, open_envelope, write_envelope

# Bodies built in memory up to this, on local disk past it: a combined file of every account grows with the
# organisation (gzipped, a few MiB per 1,000 accounts x 10 roles), and a refresh's memory should not.
SPOOL_BYTES = 2 * 2**20


class S3Store:
    def __init__(self, client: Any, clock: Callable[[], float] = time.time):
        self.client = client
        self.clock = clock

    def put_json(self, bucket: str, key: str, data: Any) -> int:
        """Write `data` in the envelope; gzip when the key ends with `.gz`. Returns the bytes written.

        A `StringMap` is streamed through a spooled temporary file (memory up to `SPOOL_BYTES`, then disk)."""
        if isinstance(data, StringMap):
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
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

    # -- raw objects (the change history, history_store.py) ---------------------------------------

    def put_bytes(self, bucket: str, key: str, body: Any, size: int | None = None, if_absent: bool = False) -> bool:
        """PUT `body` (bytes, or a binary file of `size` bytes read from its current position) as is. `if_absent`:
        only if no object has that key (If-None-Match: *); returns False when one has, True when written."""
        extra: dict[str, Any] = {"ContentLength": size} if size is not None else {}
        if if_absent:
            extra["IfNoneMatch"] = "*"
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except ClientError as exc:
            if if_absent and exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise
        return True

    def get_bytes(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes as stored, or None if it does not exist."""
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def list_common_prefixes(self, bucket: str, prefix: str, delimiter: str = "/") -> list[str]:
        """The 'folders' right under `prefix` (each ending with `delimiter`), without listing what is in them."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter=delimiter)
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key under `prefix`, in key order."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def delete_keys(self, bucket: str, keys: list[str]) -> int:
        """DeleteObjects in batches of 1,000 (S3's limit); raises naming the first key S3 refused. Returns how many."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            answer = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            if answer.get("Errors"):
                err = answer["Errors"][0]
                raise RuntimeError(
                    f"{s3_uri(bucket, err.get('Key', '?'))}: not deleted: {err.get('Code')}: {err.get('Message')} "
                    f"({len(answer['Errors'])} of {len(batch)} refused)"
                )
        return len(keys)


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
