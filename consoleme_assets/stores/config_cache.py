"""AWS Config resources in ConsoleMe's formats (cache_resources_from_aws_config_for_account / _across_accounts).

- Redis hash `AWSCONFIG_RESOURCE_CACHE`: field = ARN, value = the Config item with `ttl` (now + 36 h, epoch
  seconds), passed through ConsoleMe's `un_wrap_json` and serialized as ConsoleMe's ujson 5.4 did. The web tier
  (typeahead, get_resource_url, policies table, get_resource_account) reads these values, so ConsoleMe's
  format quirks are kept on purpose: nested JSON strings are parsed, every other string is URL-decoded
  (`unquote_plus`: "+" becomes a space), and lists are sorted where sortable.
- S3 `aws_config_cache/cache_{account_id}_v1.json.gz` and the combined file: `{arn: <the Redis value>}`.
- DynamoDB `consoleme_resource_cache` (PK resourceId, SK resourceType): the raw rows with `ttl`.

Fixed here, format unchanged: a refresh replaces the account's entries (vanished resources leave Redis and
DynamoDB), ttl is computed and compared in UTC whatever the host's timezone, and a region whose query failed
keeps its previous entries instead of losing them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from ..aws.arns import is_aws_managed
from .caches import ArnHashes, ConsoleMeCaches
from .changes import EntriesPlan, plan_entries
from .config_format import TTL_SECONDS, dumps_ujson, redis_value, ttl_from, ttl_of, un_wrap_json  # noqa: F401
from .encoding import StringMap, dumps_consoleme
from .reports import WriteReport
from .s3_store import s3_uri

DYNAMO_KEYS = ["resourceId", "resourceType"]
# DynamoDB refuses items over 400 KB and fails the whole batch; such items are skipped (and counted) instead.
DYNAMO_MAX_ITEM_BYTES = 400_000


def _item(value: str) -> dict[str, Any]:
    try:
        item = json.loads(value)
    except ValueError:
        return {}
    return item if isinstance(item, dict) else {}


def _dynamo_size(item: dict[str, Any]) -> int:
    """About DynamoDB's size of the item: its JSON length, with "" counted as the 25-byte placeholder."""
    text = dumps_consoleme(item)
    return len(text.encode()) + 23 * text.count('""')


def _dynamo_key(item: dict[str, Any]) -> tuple[str, str] | None:
    rid, rtype = item.get("resourceId"), item.get("resourceType")
    return (rid, rtype) if isinstance(rid, str) and rid and isinstance(rtype, str) and rtype else None


@dataclass
class ConfigBatch:
    """One account's AWS Config resources, ready to write."""

    account_id: str
    values: dict[str, str]  # ARN -> Redis value
    dynamo_items: list[dict[str, Any]] = field(default_factory=list)  # raw rows + ttl, one per DynamoDB key
    resource_types: dict[str, int] = field(default_factory=dict)
    rows_returned: int = 0
    rows_without_arn: int = 0
    regions_ok: list[str] = field(default_factory=list)
    regions_failed: dict[str, str] = field(default_factory=dict)  # region -> error
    source: str = "aws_config"


def config_batch(
    account_id: str,
    rows: Iterable[dict[str, Any]],
    now: float,
    regions_ok: Iterable[str] = (),
    regions_failed: dict[str, str] | None = None,
) -> ConfigBatch:
    """Rows of SelectResourceConfig -> the account's cache entries (ConsoleMe: first row per ARN wins,
    rows without an ARN are not cached; every row gets the ttl; DynamoDB gets each keyed row once)."""
    ttl = ttl_from(now)
    rows = [{**row, "ttl": ttl} for row in rows]
    by_arn: dict[str, dict[str, Any]] = {}
    dynamo: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        arn = row.get("arn")
        if isinstance(arn, str) and arn:
            by_arn.setdefault(arn, row)
        key = _dynamo_key(row)
        if key is not None:
            dynamo.setdefault(key, row)
    return ConfigBatch(
        account_id=account_id,
        values={arn: redis_value(row) for arn, row in by_arn.items()},
        dynamo_items=list(dynamo.values()),
        resource_types=dict(sorted(Counter(str(r.get("resourceType")) for r in by_arn.values()).items())),
        rows_returned=len(rows),
        rows_without_arn=sum(1 for r in rows if not (isinstance(r.get("arn"), str) and r.get("arn"))),
        regions_ok=sorted(regions_ok),
        regions_failed=dict(sorted((regions_failed or {}).items())),
    )


# -- reads and writes ----------------------------------------------------------------------------


@dataclass
class ConfigPlan:
    """One account's AWS Config write, planned (see `ConfigCacheStore.plan_account`)."""

    batch: ConfigBatch
    entries: EntriesPlan
    kept_from_failed_regions: int = 0


@dataclass
class AccountWrite:
    """What one account's write touched."""

    redis_key: str
    redis_written: int = 0
    redis_deleted: int = 0
    kept_from_failed_regions: int = 0
    s3_uris: list[str] = field(default_factory=list)
    s3_unchanged: int = 0
    dynamodb_table: str | None = None
    dynamodb_written: int = 0
    dynamodb_deleted: int = 0
    dynamodb_skipped: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class RunWrite:
    """What the end-of-run step (ttl sweep, combined file) touched."""

    redis_key: str
    expired: int = 0
    without_ttl: int = 0
    remaining: int = 0
    dynamodb_deleted: int = 0
    s3_uris: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ConfigCacheStore:
    """AWSCONFIG_RESOURCE_CACHE and its S3/DynamoDB copies, for one deployment's settings."""

    def __init__(self, caches: ConsoleMeCaches, storage: ArnHashes, clock: Callable[[], float] = time.time):
        """`storage`: the dataset's declaration: one hash ({kind: key}), its per-account and combined files
        ({"all": file}) and table."""
        self.caches = caches
        self.settings = caches.settings
        self.redis = caches.redis
        self.clock = clock
        [self.key] = storage.redis_keys(self.settings).values()
        self._account_file = storage.account_files(self.settings)["all"]
        self._combined_file = storage.combined_files(self.settings)["all"]
        self._table_name = storage.table(self.settings)

    def _dynamo_table(self, notes: list[str]) -> str | None:
        """The table to write, or None with the reason noted (replica, dynamo_enabled off, no such table)."""
        table = self._table_name
        if self.settings.is_replica:
            notes.append("DynamoDB skipped: replica region")
        elif not self.settings.aws_config.dynamo_enabled:
            notes.append(
                "DynamoDB skipped: dynamo_enabled is off "
                "(celery.cache_resources_from_aws_config_across_accounts.dynamo_enabled)"
            )
        elif self.caches.dynamo is None or not self.caches.dynamo.table_exists(table):
            notes.append(f"DynamoDB skipped: table {table} does not exist")
        else:
            return table
        return None

    @staticmethod
    def _owner_of(key: str, arn: str, value: str) -> str | None:
        # Entries without an owner index (first run, or written by ConsoleMe): the item's accountId decides,
        # since S3 ARNs carry no account id.
        owner = _item(value).get("accountId")
        return owner if isinstance(owner, str) else None

    def previous_entries(self, account_id: str) -> dict[str, str]:
        """The account's current fields and values (what `replace_account_entries` will replace)."""
        fields = sorted(self.redis.owned_fields(self.key, account_id, self._owner_of))
        out: dict[str, str] = {}
        for chunk in _chunks(fields, 1000):
            out.update(
                {f: v for f, v in zip(chunk, self.redis.client.hmget(self.key, chunk), strict=False) if v is not None}
            )
        return out

    def plan_account(self, batch: ConfigBatch, now: float | None = None) -> ConfigPlan:
        """What writing `batch` would change against what is cached for the account (reads only). A region we
        could not read keeps what it had (it ages out by ttl); AWS-managed ARNs are never one account's to delete."""
        account_id = batch.account_id
        fresh = dict(batch.values)
        previous, indexed = self.redis.account_values(self.key, account_id, self._owner_of, also=fresh)
        kept = {}
        if batch.regions_failed:
            ok = set(batch.regions_ok)
            kept = {a: v for a, v in previous.items() if a not in fresh and _item(v).get("awsRegion") not in ok}
            fresh.update(kept)
        entries = plan_entries(
            self.key,
            previous,
            fresh,
            self.clock() if now is None else now,
            TTL_SECONDS,
            self.settings.writes.renew_entries_after_seconds,
            indexed,
            keep=frozenset(a for a in previous if is_aws_managed(a)),
        )
        return ConfigPlan(batch, entries, len(kept))

    def apply(self, plan: ConfigPlan) -> AccountWrite:
        """Write only what `plan` says: DynamoDB puts (the changed and renewed resources) and deletes, then the
        Redis transaction, then the S3 copy if its content changed. DynamoDB goes first so that if it fails, Redis
        still lists the old entries and the next run plans the same writes again."""
        batch, entries = plan.batch, plan.entries
        account_id = batch.account_id
        report = AccountWrite(redis_key=self.key, kept_from_failed_regions=plan.kept_from_failed_regions)
        table = self._dynamo_table(report.notes)
        if table is not None:
            report.dynamodb_table = table
            writes = set(entries.writes)
            items = [i for i in batch.dynamo_items if not isinstance(i.get("arn"), str) or i["arn"] in writes]
            report.dynamodb_written, report.dynamodb_skipped = self._dynamo_put(table, items)
            fresh = {_dynamo_key(i) for i in batch.dynamo_items}
            vanished = [entries.previous[a] for a in entries.deletes]
            gone = {k for k in (_dynamo_key(_item(v)) for v in vanished) if k is not None and k not in fresh}
            report.dynamodb_deleted = self.caches.dynamo.delete_items(
                table, [dict(zip(DYNAMO_KEYS, k, strict=False)) for k in sorted(gone)], DYNAMO_KEYS
            )
        counts = self.redis.apply_account_plans(account_id, [entries], shared=is_aws_managed)[self.key]
        report.redis_written, report.redis_deleted = counts["written"], counts["deleted"]
        if counts["written"] or counts["deleted"]:
            self.caches.s3_copies.forget(self._combined_file)
        copy = WriteReport()
        # The file holds what the entries hold (with their ttls): written when those changed, or to renew it.
        unchanged = not entries.changes.has_changes
        self.caches.s3_copies.put(
            self._account_file, entries.fresh, copy, skip_if_recent=unchanged, account_id=account_id
        )
        report.notes += copy.notes
        report.s3_uris += copy.s3_uris
        report.s3_unchanged = copy.s3_unchanged
        return report

    def write_account(self, batch: ConfigBatch) -> AccountWrite:
        """Plan and apply in one go (callers without a publish guard or history)."""
        return self.apply(self.plan_account(batch))

    def _dynamo_put(self, table: str, items: list[dict[str, Any]]) -> tuple[int, int]:
        fitting = [i for i in items if _dynamo_size(i) <= DYNAMO_MAX_ITEM_BYTES]
        return self.caches.dynamo.put_items(table, fitting, DYNAMO_KEYS), len(items) - len(fitting)

    def read_primary_copy(self, account_id: str) -> ConfigBatch:
        """A replica's source: the primary region's per-account S3 file `{arn: value}`."""
        obj = self._account_file
        bucket = self.settings.s3_bucket_for(obj)
        if bucket is None or self.caches.s3 is None:
            raise LookupError(
                f"account {account_id}: no S3 bucket (aws_config_cache.s3.bucket / consoleme_s3_bucket) to read "
                "the primary region's AWS Config cache from"
            )
        uri = s3_uri(bucket, obj.key(account_id=account_id))
        data = self.caches.s3.get_json(bucket, obj.key(account_id=account_id))
        if data is None:
            raise LookupError(f"account {account_id}: {uri} does not exist (primary region not refreshed yet?)")
        if not isinstance(data, dict):
            raise ValueError(f"account {account_id}: {uri}: expected {{arn: json}}, got {type(data).__name__}")
        values = {arn: v if isinstance(v, str) else dumps_ujson(v) for arn, v in data.items()}
        types = Counter(str(_item(v).get("resourceType")) for v in values.values())
        return ConfigBatch(
            account_id, values, resource_types=dict(sorted(types.items())), rows_returned=len(values), source=uri
        )

    def sweep_expired(self, now: float | None = None) -> RunWrite:
        """ConsoleMe's sweep: drop entries whose ttl has passed (compared in UTC epoch seconds)."""
        now = self.clock() if now is None else now
        report = RunWrite(redis_key=self.key)
        expired: dict[str, str] = {}
        for arn, value in self.redis.client.hscan_iter(self.key, count=1000):
            ttl = ttl_of(value)
            if ttl is None:
                report.without_ttl += 1
            elif ttl < now:
                expired[arn] = value
        table = self._dynamo_table([]) if expired else None
        if table is not None:
            keys = {k for k in (_dynamo_key(_item(v)) for v in expired.values()) if k is not None}
            report.dynamodb_deleted = self.caches.dynamo.delete_items(
                table, [dict(zip(DYNAMO_KEYS, k, strict=False)) for k in sorted(keys)], DYNAMO_KEYS
            )
        report.expired = self._delete_if_unchanged(expired)
        if report.expired:
            self.caches.s3_copies.forget(self._combined_file)
        return report

    def _delete_if_unchanged(self, expired: dict[str, str]) -> int:
        """HDEL the fields still holding the expired value (a refresh in between keeps its new entry)."""
        removed = 0
        for chunk in _chunks(sorted(expired), 500):
            while True:
                with self.redis.client.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(self.key)
                        current = pipe.hmget(self.key, chunk)
                        doomed = [f for f, v in zip(chunk, current, strict=False) if v is not None and v == expired[f]]
                        if not doomed:
                            break
                        pipe.multi()
                        pipe.hdel(self.key, *doomed)
                        pipe.hset(self.redis.last_updated_key, self.key, int(self.redis.clock()))
                        pipe.execute()
                        removed += len(doomed)
                        break
                    except redis.WatchError:
                        continue
        return removed

    def write_combined(self, report: RunWrite) -> RunWrite:
        """The combined S3 file `{arn: value}` from the whole hash (primary region only, as ConsoleMe); while the
        hash did not change since it was written (no account's entries, no expiry), only if not recently."""
        everything = StringMap(self.redis.client.hscan_iter(self.key, count=1000))  # streamed, not held
        copy = WriteReport()
        self.caches.s3_copies.put(self._combined_file, everything, copy, skip_if_recent=True)
        report.notes += copy.notes
        report.s3_uris += copy.s3_uris
        report.remaining = everything.count if report.s3_uris else self.redis.client.hlen(self.key)
        return report

    def read_accounts(self, account_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """`{account_id: {arn: item}}` for the given accounts (all if None), grouped by the item's accountId.
        Accounts with no cached resource are absent."""
        wanted = None if account_ids is None else set(account_ids)
        out: dict[str, dict[str, Any]] = {}
        for arn, value in self.redis.client.hscan_iter(self.key, count=1000):
            item = _item(value)
            account_id = item.get("accountId")
            if isinstance(account_id, str) and (wanted is None or account_id in wanted):
                out.setdefault(account_id, {})[arn] = item
        return out
