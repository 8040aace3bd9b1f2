"""Where each dataset lives in ConsoleMe's layout, and how it is written and read back.

The framework (lib/) hands each dataset's records to these writers, with the storage its declaration names;
nothing outside stores/ touches a Redis, S3 or DynamoDB client. Order of writes: Redis first (what the web tier reads), then the S3 copy.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from ..settings import S3Object, Settings
from .dynamo_store import DynamoStore
from .encoding import StringMap, dumps_consoleme
from .redis_store import INDEX_PREFIX, RedisStore
from .s3_store import S3Store, s3_uri
from .tables import scan_items

# Our own bookkeeping (ConsoleMe never reads it): {s3 URI: "<sha256 of the data>:<epoch written>"} of the S3
# copies written only when changed. Lost with a Redis flush, which only means the next write is a full one.
S3_DIGESTS_KEY = "consoleme_assets:s3_digests"


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


@dataclass(frozen=True)
class AccountLists:
    """A hash with one field per account holding a JSON list (S3_BUCKETS, SQS_QUEUES, ...), plus a
    per-account S3 file and, for some, a combined S3 file `{account_id: "<json list>"}`."""

    redis_key: Callable[[Settings], str]
    account_file: Callable[[Settings], S3Object]
    combined_file: Callable[[Settings], S3Object] | None = None

    def presence_key(self, settings: Settings) -> str:
        return self.redis_key(settings)


@dataclass(frozen=True)
class JsonDocument:
    """A Redis string holding one JSON document, plus an S3 copy (ALL_AWS_ACCOUNTS, ALL_POLICIES, ...)."""

    redis_key: Callable[[Settings], str]
    s3_file: Callable[[Settings], S3Object] | None
    expire_seconds: int | None = None

    def presence_key(self, settings: Settings) -> str:
        return self.redis_key(settings)


@dataclass(frozen=True)
class HashDocument:
    """A Redis hash replaced whole on every write (field -> JSON), plus an S3 copy `{field: "<json>"}`
    (ALL_NOTIFICATIONS). An empty hash is a normal state: Redis then has no key, only its LAST_UPDATED stamp."""

    redis_key: Callable[[Settings], str]
    s3_file: Callable[[Settings], S3Object] | None

    def presence_key(self, settings: Settings) -> str:
        return self.redis_key(settings)


@dataclass(frozen=True)
class ArnHashes:
    """Redis hashes with one field per ARN, by kind (IAM_ROLE_CACHE, ..., AWSCONFIG_RESOURCE_CACHE), and the S3
    files and DynamoDB table ConsoleMe keeps beside them. The first kind's hash stands for the dataset (every
    account has some: its presence says the cache is there)."""

    redis_keys: Callable[[Settings], dict[str, str]]  # {kind: key}, the standing-for kind first
    account_files: Callable[[Settings], dict[str, S3Object]] | None = None  # {kind or "all": per-account file}
    combined_files: Callable[[Settings], dict[str, S3Object]] | None = None  # {kind or "all": combined file}
    table: Callable[[Settings], str] | None = None  # ConsoleMe's DynamoDB table of the entries

    def presence_key(self, settings: Settings) -> str:
        return next(iter(self.redis_keys(settings).values()))


Storage = AccountLists | JsonDocument | HashDocument | ArnHashes


@dataclass
class ListPlan:
    """One account's list (a field of an `AccountLists` hash): cached (None: no field yet) and fresh."""

    storage: AccountLists
    account_id: str
    previous: list[str] | None
    items: list[str]

    @property
    def added(self) -> list[str]:
        return sorted(set(self.items) - set(self.previous or ()))

    @property
    def removed(self) -> list[str]:
        return sorted(set(self.previous or ()) - set(self.items))

    @property
    def changed(self) -> bool:
        """The field is written: new, or its items differ (an order-only difference is no change)."""
        return self.previous is None or bool(self.added or self.removed)


class ConsoleMeCaches:
    """Writes and reads ConsoleMe's caches for one deployment's settings."""

    def __init__(
        self,
        settings: Settings,
        redis_store: RedisStore,
        s3_store: S3Store | None,
        dynamo_store: DynamoStore | None = None,
    ):
        self.settings = settings
        self.redis = redis_store
        self.s3 = s3_store
        self.dynamo = dynamo_store
        self._s3_reads: dict[tuple[str, str], Any] = {}
        self._s3_lock = threading.Lock()

    def read_s3_once(self, obj: S3Object, **fmt: str) -> Any:
        """An S3 copy's data, read once per run (replica hydration reads combined files many times)."""
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is None or self.s3 is None:
            raise LookupError("no S3 bucket configured (consoleme_s3_bucket) to read ConsoleMe's S3 copies from")
        key = obj.key(**fmt)
        with self._s3_lock:
            if (bucket, key) not in self._s3_reads:
                self._s3_reads[(bucket, key)] = self.s3.get_json(bucket, key)
            data = self._s3_reads[(bucket, key)]
        if data is None:
            raise LookupError(f"s3://{bucket}/{key} does not exist")
        return data

    def close(self) -> None:
        self.redis.client.close()

    def put_s3_copy(
        self,
        obj: S3Object,
        data: Any,
        report: WriteReport,
        *,
        if_changed: bool = False,
        known_unchanged: bool = False,
        **fmt: str,
    ) -> None:
        """Write `data` to `obj`'s S3 key in ConsoleMe's envelope; the URI (or why it was skipped) goes in `report`.
        Replicas and deployments without a bucket write no S3 copy. `if_changed`: skip the PUT when the object
        holds this very data (a digest of it is kept in Redis) and was written less than
        `consoleme_assets.writes.renew_s3_after` ago (the envelope's `last_updated`, which readers may judge).
        `known_unchanged`: the caller knows the data is what was written last time (no account changed), for data
        too big to digest (a streamed combined file); skipped the same way."""
        if self.settings.is_replica:  # replicas read the primary's S3 copies; they never write them
            report.notes.append("S3 copy skipped: replica region")
            return
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is None or self.s3 is None:
            report.notes.append("S3 copy skipped: no bucket configured (consoleme_s3_bucket)")
            return
        key = obj.key(**fmt)
        uri = s3_uri(bucket, key)
        digest = None
        if known_unchanged and self._digest_is_recent(uri, None):
            report.s3_unchanged += 1
            return
        if if_changed and not isinstance(data, StringMap):
            digest = hashlib.sha256(dumps_consoleme(data).encode()).hexdigest()
            if self._digest_is_recent(uri, digest):
                report.s3_unchanged += 1
                return
        report.bytes_written += self.s3.put_json(bucket, key, data)
        report.s3_uris.append(uri)
        # Every copy's write is remembered, so the next write of unchanged data can be skipped.
        self.redis.client.hset(S3_DIGESTS_KEY, uri, f"{digest or '*'}:{int(self.redis.clock())}")

    def forget_s3_copy(self, obj: S3Object, **fmt: str) -> None:
        """The object's data changed outside a full write (one role written or removed): the next write of it may
        not be skipped as unchanged."""
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is not None and not self.settings.is_replica:
            self.redis.client.hdel(S3_DIGESTS_KEY, s3_uri(bucket, obj.key(**fmt)))

    def _digest_is_recent(self, uri: str, digest: str | None) -> bool:
        """The object was written from this data (any data, for `digest` None) recently enough to skip."""
        known = self.redis.client.hget(S3_DIGESTS_KEY, uri)
        if not known or ":" not in known:
            return False
        sha, _, written = known.rpartition(":")
        age = self.redis.clock() - float(written or 0)
        return (digest is None or sha == digest) and age < self.settings.writes.renew_s3_after_seconds

    # -- one JSON document per dataset -----------------------------------------------------------

    def write_json(self, ds: JsonDocument, data: Any) -> WriteReport:
        """SET the document only if it differs from the cached one (the LAST_UPDATED stamp, and an expiry, move
        either way), then the S3 copy if its content changed or it was not written recently."""
        key = ds.redis_key(self.settings)
        report = WriteReport(redis_keys=[key])
        payload = data if isinstance(data, str) else dumps_consoleme(data)
        if self.redis.client.get(key) == payload:
            self.redis.touch(key, expire_seconds=ds.expire_seconds)
        else:
            report.bytes_written += self.redis.set_json(key, payload, expire_seconds=ds.expire_seconds)
            report.redis_written += 1
        if ds.s3_file is not None:
            self.put_s3_copy(ds.s3_file(self.settings), data, report, if_changed=True)
        return report

    def read_json(self, ds: JsonDocument) -> Any:
        return self.redis.get_json(ds.redis_key(self.settings))

    def iter_json_hash(self, key: str) -> Iterator[tuple[str, Any]]:
        """(field, decoded value) of a whole hash, streamed with HSCAN rather than one big HGETALL."""
        for name, raw in self.redis.client.hscan_iter(key, count=1000):
            try:
                yield name, json.loads(raw)
            except ValueError:
                raise ValueError(f"Redis hash {key}, field {name!r}: value is not JSON") from None

    def get_json_key(self, key: str, default: Any = None) -> Any:
        value = self.redis.get_json(key)
        return default if value is None else value

    # -- presence --------------------------------------------------------------------------------

    def hash_size(self, key: str) -> int:
        return self.redis.client.hlen(key)

    def sample_hash(self, key: str, count: int) -> list[tuple[str, str]]:
        """Up to `count` (field, raw value) pairs of a hash, without reading it whole (for checks)."""
        return list(islice(self.redis.client.hscan_iter(key, count=count), count))

    def hash_fields(self, key: str) -> list[str]:
        """The field names of a hash (HKEYS: names only, never the values)."""
        return self.redis.client.hkeys(key)

    def fields_present(self, key: str, fields: list[str]) -> dict[str, bool]:
        """{field: whether the hash has it}, in one round trip."""
        with self.redis.client.pipeline(transaction=False) as pipe:
            for name in fields:
                pipe.hexists(key, name)
            return dict(zip(fields, pipe.execute(), strict=False))

    def hash_values(self, key: str, fields: list[str]) -> dict[str, Any]:
        """{field: decoded JSON value} of those `fields` the hash has (one HMGET per 1,000)."""
        out: dict[str, Any] = {}
        for start in range(0, len(fields), 1000):
            out.update(self.redis.get_fields(key, fields[start : start + 1000]))
        return out

    def read_hash(self, key: str) -> dict[str, str]:
        """A small hash whole, values as stored (e.g. TEMPLATED_ROLES_v2)."""
        return self.redis.client.hgetall(key)

    def set_plain_keys(self, values: Mapping[str, Any]) -> None:
        """SET each key to its value, unstamped (ConsoleMe's `.last_success` compatibility keys)."""
        with self.redis.client.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(key, value)
            pipe.execute()

    # -- ConsoleMe's DynamoDB tables -------------------------------------------------------------

    def scan_table(self, table: str) -> list[dict[str, Any]]:
        """Every item of `table`, decoded on every page; DynamoSourceError names the table if it cannot be read."""
        return scan_items(self.dynamo, table)

    def get_table_items(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items with these keys (absent ones left out), decoded."""
        return self._table_store(table).get_items(table, keys)

    def put_table_items(self, table: str, items: list[dict[str, Any]], key_names: list[str]) -> int:
        """Put (overwrite) the items in ConsoleMe's encoding; returns how many."""
        return self._table_store(table).put_items(table, items, key_names)

    def _table_store(self, table: str) -> DynamoStore:
        if self.dynamo is None:
            raise LookupError(f"DynamoDB table {table}: no DynamoDB store configured")
        return self.dynamo

    def lost_keys(self, keys: list[str]) -> set[str]:
        """The keys that are gone together with their LAST_UPDATED stamp: the store was flushed or failed over
        to an empty replica. A key that only expired (CLOUDTRAIL_ERRORS_BY_ARN) or a hash emptied by a refresh
        keeps its stamp, so it is not counted."""
        with self.redis.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.exists(key)
                pipe.hexists(self.redis.last_updated_key, key)
            answers = pipe.execute()
        return {key for i, key in enumerate(keys) if not answers[2 * i] and not answers[2 * i + 1]}

    def accounts_without_entries(self, storage: Storage, accounts: list[str]) -> list[str]:
        """Of `accounts`, those with nothing of theirs in the storage's per-account hash: no field (account lists),
        or no owner index (ARN hashes: every account refreshed here has one, even with no entries). What a flushed
        Redis refilled by a few role-change events looks like: a hash present, most accounts missing."""
        if not accounts:
            return []
        if isinstance(storage, AccountLists):
            present = self.fields_present(storage.redis_key(self.settings), accounts)
            return sorted(a for a in accounts if not present.get(a))
        if isinstance(storage, ArnHashes):
            key = storage.presence_key(self.settings)
            with self.redis.client.pipeline(transaction=False) as pipe:
                for account in accounts:
                    pipe.exists(f"{INDEX_PREFIX}:{key}:{account}")
                found = pipe.execute()
            return sorted(a for a, there in zip(accounts, found, strict=False) if not there)
        return []

    def storage_keys(self, storage: Storage) -> list[str]:
        """Every Redis key the storage writes (an ARN hashes storage: one per kind)."""
        if isinstance(storage, ArnHashes):
            return list(storage.redis_keys(self.settings).values())
        return [storage.presence_key(self.settings)]

    # -- hashes replaced whole -------------------------------------------------------------------

    def write_hash_document(self, ds: HashDocument, by_field: Mapping[str, Any]) -> WriteReport:
        """The hash = exactly these fields (field -> JSON; fields no longer present are deleted, which ConsoleMe's
        merge never did), in one transaction; then the S3 copy `{field: "<json>"}`."""
        key = ds.redis_key(self.settings)
        encoded = {name: json.dumps(value) for name, value in sorted(by_field.items())}
        report = WriteReport(redis_keys=[key])
        counts = self.redis.replace_hash(key, encoded)
        report.notes.append(f"{counts['written']} fields written, {counts['deleted']} stale fields deleted")
        report.bytes_written += sum(len(v) for v in encoded.values())
        if ds.s3_file is not None:
            self.put_s3_copy(ds.s3_file(self.settings), encoded, report)
        return report

    # -- per-account lists -----------------------------------------------------------------------

    def plan_account_list(self, ds: AccountLists, account_id: str, items: list[str]) -> ListPlan:
        """What writing the account's list would change (reads only): the items added and removed."""
        raw = self.redis.client.hget(ds.redis_key(self.settings), account_id)
        try:
            previous = json.loads(raw) if raw is not None else None
        except ValueError:  # not ConsoleMe's shape: rewritten, and nothing in it counts as removed
            previous = []
        if not isinstance(previous, list) and previous is not None:
            previous = []
        return ListPlan(ds, account_id, previous, list(items))

    def apply_account_list(self, plan: ListPlan) -> WriteReport:
        """HSET the account's field only if its items changed (the LAST_UPDATED stamp moves either way), then the
        per-account S3 file if its content changed or it was not written recently."""
        ds, account_id, items = plan.storage, plan.account_id, plan.items
        key = ds.redis_key(self.settings)
        report = WriteReport(redis_keys=[key])
        if plan.changed:
            report.bytes_written += self.redis.set_fields(key, {account_id: items})
            report.redis_written += 1
        else:
            self.redis.stamp(key)
        self.put_s3_copy(ds.account_file(self.settings), items, report, if_changed=True, account_id=account_id)
        return report

    def write_account_list(self, ds: AccountLists, account_id: str, items: list[str]) -> WriteReport:
        """Plan and apply in one go (callers without a publish guard or history)."""
        return self.apply_account_list(self.plan_account_list(ds, account_id, items))

    def write_account_list_combined(self, ds: AccountLists, changed: bool = True) -> WriteReport:
        """The combined S3 file `{account_id: "<json list>"}`, from every account now in the hash; when no
        account changed (`changed` False), only if it was not written recently."""
        report = WriteReport()
        if ds.combined_file is not None:
            pairs = StringMap(self.redis.client.hscan_iter(ds.redis_key(self.settings), count=1000))
            self.put_s3_copy(ds.combined_file(self.settings), pairs, report, known_unchanged=not changed)
        return report

    def account_list_from_s3(self, ds: AccountLists, account_id: str) -> list[str]:
        """A replica's source: the account's list in the primary's combined file (else its per-account file)."""
        if ds.combined_file is None:
            return list(self.read_s3_once(ds.account_file(self.settings), account_id=account_id))
        combined = self.read_s3_once(ds.combined_file(self.settings))
        if account_id not in combined:
            combined_key = ds.combined_file(self.settings).key()
            raise LookupError(f"account {account_id} is not in the primary region's combined file {combined_key} yet")
        value = combined[account_id]
        return json.loads(value) if isinstance(value, str) else list(value)

    def read_account_lists(self, ds: AccountLists, account_ids: list[str] | None = None) -> dict[str, list[str]]:
        key = ds.redis_key(self.settings)
        if account_ids is None:
            return {k: json.loads(v) for k, v in self.redis.client.hgetall(key).items()}
        return self.redis.get_fields(key, account_ids)
