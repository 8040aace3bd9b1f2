"""Where each dataset lives in ConsoleMe's layout, and how it is written and read back.

The framework (lib/) hands each dataset's records to these writers, with the storage its declaration names;
nothing outside stores/ touches a Redis, S3 or DynamoDB client. Order of writes: Redis first (what the web tier reads), then the S3 copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..settings import S3Object, Settings
from .dynamo_store import DynamoStore
from .encoding import StringMap, dumps_consoleme
from .redis_store import INDEX_PREFIX, RedisStore
from .reports import WriteReport
from .s3_copies import S3Copies
from .s3_store import S3Store
from .tables import scan_items


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
        self.s3_copies = S3Copies(settings, redis_store, s3_store)

    def close(self) -> None:
        self.redis.client.close()

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
            self.s3_copies.put(ds.s3_file(self.settings), data, report, if_changed=True)
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
            self.s3_copies.put(ds.s3_file(self.settings), encoded, report)
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
            if ds.combined_file is not None:
                self.s3_copies.forget(ds.combined_file(self.settings))
        else:
            self.redis.stamp(key)
        self.s3_copies.put(ds.account_file(self.settings), items, report, if_changed=True, account_id=account_id)
        return report

    def write_account_list(self, ds: AccountLists, account_id: str, items: list[str]) -> WriteReport:
        """Plan and apply in one go (callers without a publish guard or history)."""
        return self.apply_account_list(self.plan_account_list(ds, account_id, items))

    def write_account_list_combined(self, ds: AccountLists) -> WriteReport:
        """The combined S3 file `{account_id: "<json list>"}`, from every account now in the hash; while no
        account's field changed since it was last written, only if that was not recently (s3_copies.py)."""
        report = WriteReport()
        if ds.combined_file is not None:
            pairs = StringMap(self.redis.client.hscan_iter(ds.redis_key(self.settings), count=1000))
            self.s3_copies.put(ds.combined_file(self.settings), pairs, report, skip_if_recent=True)
        return report

    def account_list_from_s3(self, ds: AccountLists, account_id: str) -> list[str]:
        """A replica's source: the account's list in the primary's combined file (else its per-account file)."""
        if ds.combined_file is None:
            return list(self.s3_copies.read_once(ds.account_file(self.settings), account_id=account_id))
        combined = self.s3_copies.read_once(ds.combined_file(self.settings))
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
