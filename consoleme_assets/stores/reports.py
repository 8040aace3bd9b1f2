"""What a write touched, for materialization metadata and the write-cost benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WriteReport:
    """What one write touched, for materialization metadata (and the write-cost benchmark)."""

    redis_keys: list[str] = field(default_factory=list)
    s3_uris: list[str] = field(default_factory=list)  # each one a PUT
    bytes_written: int = 0
    notes: list[str] = field(default_factory=list)
    redis_written: int = 0  # hash fields (or string keys) written
    redis_deleted: int = 0
    dynamodb_written: int = 0  # items put
    dynamodb_deleted: int = 0
    s3_unchanged: int = 0  # S3 copies not written: same content, written recently enough

    def add(self, other: WriteReport) -> WriteReport:
        self.redis_keys += [k for k in other.redis_keys if k not in self.redis_keys]
        self.s3_uris += other.s3_uris
        self.notes += other.notes
        for name in ("bytes_written", "redis_written", "redis_deleted", "dynamodb_written", "dynamodb_deleted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.s3_unchanged += other.s3_unchanged
        return self
