"""What a refresh does with what changed (issue 22): the publish guard, the change history, and when an unchanged
entry is written again anyway (our own knobs, under `consoleme_assets:`)."""

from __future__ import annotations

import re

from pydantic import field_validator

from .fields import Strict, ck

_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def duration_seconds(value: object, setting: str) -> int:
    """'90d', '36h', '30m' -> seconds; anything else (a bare number included: days or seconds?) is an error naming
    the setting. The fields' defaults are seconds already and are not passed through here."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) <= 0:
        raise ValueError(f"{setting}: expected a duration such as 90d, 36h or 30m, got {value!r}")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


class PublishGuard(Strict):
    """An account whose fresh fetch would remove more than `max_removed_fraction` AND more than `min_removed` of
    its cached items is not written (its last good cache is kept, its partition fails) until accepted."""

    max_removed_fraction: float = ck("consoleme_assets.publish_guard.max_removed_fraction", default=0.5, ge=0, le=1)
    min_removed: int = ck("consoleme_assets.publish_guard.min_removed", default=10, ge=0)

    def blocks(self, removed: int, cached: int) -> bool:
        return cached > 0 and removed > self.min_removed and removed / cached > self.max_removed_fraction


class HistorySettings(Strict):
    """Change records: gzipped JSON Lines in the cache bucket, one folder per day, kept `retention`; the newest
    `recent_entries` also in a Redis stream, quick to read."""

    enabled: bool = ck("consoleme_assets.history.enabled", default=True)
    retention_seconds: int = ck("consoleme_assets.history.retention", default=400 * 86400)
    recent_entries: int = ck("consoleme_assets.history.recent_entries", default=20000, ge=0)
    bucket: str | None = ck("consoleme_assets.history.bucket")  # default: consoleme_s3_bucket
    prefix: str = ck("consoleme_assets.history.prefix", default="consoleme_assets/history")
    redis_key: str = ck("consoleme_assets.history.redis_key", default="consoleme_assets:history")

    @field_validator("retention_seconds", mode="before")
    @classmethod
    def _retention(cls, value: object) -> int:
        return duration_seconds(value, "consoleme_assets.history.retention")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.strip("/"):
            raise ValueError("consoleme_assets.history.prefix must name a folder, got an empty one")
        return value.strip("/")


class WriteSettings(Strict):
    """Unchanged entries are not written again, except before they age out: ConsoleMe serves a role from Redis
    while its `ttl` (write time + 36 h) is within an hour, and DynamoDB's TTL deletes expired items; S3 envelopes
    carry `last_updated`, which some readers judge (SCPs: max_age 1 day)."""

    renew_entries_after_seconds: int = ck("consoleme_assets.writes.renew_entries_after", default=18 * 3600)
    # Fields whose change alone does not make an entry worth writing before its renewal: a role's last use moves
    # every time the role is used (the spoke role's on every refresh). [] writes every such change.
    volatile_fields: tuple[str, ...] = ck("consoleme_assets.writes.volatile_fields", default=("policy.RoleLastUsed",))
    renew_s3_after_seconds: int = ck("consoleme_assets.writes.renew_s3_after", default=12 * 3600)

    @field_validator("volatile_fields", mode="before")
    @classmethod
    def _volatile(cls, value: object) -> object:
        if isinstance(value, list) and all(isinstance(v, str) and v.strip(".") for v in value):
            return tuple(value)
        if isinstance(value, tuple):
            return value
        raise ValueError(
            f"consoleme_assets.writes.volatile_fields: expected a list of field paths such as policy.RoleLastUsed, "
            f"got {value!r}"
        )

    @field_validator("renew_entries_after_seconds", mode="before")
    @classmethod
    def _entries(cls, value: object) -> int:
        return duration_seconds(value, "consoleme_assets.writes.renew_entries_after")

    @field_validator("renew_s3_after_seconds", mode="before")
    @classmethod
    def _s3(cls, value: object) -> int:
        return duration_seconds(value, "consoleme_assets.writes.renew_s3_after")
