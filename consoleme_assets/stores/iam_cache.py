"""IAM caches (spec §6.1): IAM_ROLE_CACHE / IAM_USER_CACHE / IAM_GROUP_CACHE / IAM_POLICY_CACHE hashes keyed
by ARN, the DynamoDB table consoleme_iamroles_global, and the S3 files (per-account GAAD and per-type
files, combined cache_all_* files)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..aws.arns import account_of, is_aws_managed, parse_arn
from .caches import ArnHashes, ConsoleMeCaches
from .changes import EntriesPlan, compare, plan_entries, without
from .config_format import TTL_SECONDS
from .encoding import StringMap, dumps_consoleme
from .reports import WriteReport

KINDS = ("roles", "users", "groups", "policies")
GAAD = "authorization_details"
# What differs between two accounts' copies of one AWS-managed policy (each account's GAAD counts its own uses).
SHARED_ACCOUNT_FIELDS = (
    "accountId",
    "policy.AttachmentCount",
    "policy.PermissionsBoundaryUsageCount",
)  # the per-account file holding the whole GetAccountAuthorizationDetails answer
ROLE_KEY_NAMES = ["arn", "accountId"]
DYNAMO_ITEM_LIMIT = 400 * 1024  # DynamoDB's item size cap


@dataclass
class IamPlan:
    """One account's write, planned: per kind, the cached entries, the built ones and what differs."""

    account: IamAccount
    kinds: dict[str, EntriesPlan]

    @property
    def changed_kinds(self) -> set[str]:
        return {kind for kind, p in self.kinds.items() if p.changes.has_changes}

    @property
    def changed(self) -> bool:
        return bool(self.changed_kinds)


@dataclass
class IamAccount:
    """What one account's refresh writes: entries per kind, plus the raw lists for the S3 files."""

    account_id: str
    entries: dict[str, dict[str, dict[str, Any]]]  # kind -> arn -> entry
    raw: dict[str, list[dict[str, Any]]] | None = None  # kind -> IAM details (None when hydrated)
    gaad: dict[str, Any] | None = None
    roles_filtered_out: int = 0
    notes: list[str] = field(default_factory=list)
    # Items AWS sent that ConsoleMe could not read: {kind, arn, problems}; they are not written...
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # ...and their last good cached entries (kind -> arn -> raw JSON) are written back unchanged.
    kept: dict[str, dict[str, str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {kind: len(self.entries.get(kind, {})) for kind in KINDS}

    def aws_managed_policies(self) -> int:
        return sum(1 for arn in self.entries.get("policies", {}) if is_aws_managed(arn))


def _owner_of(key: str, field_name: str, value: str) -> str | None:
    """The account an IAM cache field belongs to: its ARN's, else (entries written by ConsoleMe itself) the
    value's accountId; None for AWS-managed policies, which belong to no account."""
    account = account_of(field_name)
    if account is not None:
        return account
    try:
        owner = json.loads(value).get("accountId")
    except (ValueError, AttributeError):
        return None
    return owner if isinstance(owner, str) else None


class IamCache:
    """`storage`: the IAM dataset's declaration of its hashes ({kind: key}), per-account files ({kind or GAAD:
    file}), combined files ({kind: file}) and role table."""

    def __init__(self, caches: ConsoleMeCaches, storage: ArnHashes):
        self.caches = caches
        self.settings = caches.settings
        self._keys = storage.redis_keys(self.settings)
        self._account_files = storage.account_files(self.settings) if storage.account_files else {}
        self._combined_files = storage.combined_files(self.settings) if storage.combined_files else {}
        self._table = storage.table(self.settings) if storage.table else None
        self._dynamo_roles: dict[str, dict[str, dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def redis_key(self, kind: str) -> str:
        return self._keys[kind]

    def templated(self, arns: list[str]) -> dict[str, str | None]:
        """TEMPLATED_ROLES_v2 links (written by internal tooling, keyed by lower-cased ARN)."""
        if not arns:
            return {}
        values = self.caches.redis.client.hmget(self.settings.redis_keys.templated_roles, [a.lower() for a in arns])
        return dict(zip(arns, values, strict=False))

    def last_good(self, account: IamAccount) -> dict[str, dict[str, str]]:
        """The cached entries of the account's rejected items (kind -> arn -> raw JSON), to be kept as they are.
        Items whose ARN is missing or names another account have no entry of this account to keep."""
        wanted: dict[str, list[str]] = defaultdict(list)
        for item in account.rejected:
            arn = item.get("arn")
            if account_of(arn) == account.account_id:
                wanted[item["kind"]].append(arn)
        out: dict[str, dict[str, str]] = {}
        for kind, arns in wanted.items():
            values = self.caches.redis.client.hmget(self.redis_key(kind), arns)
            found = {arn: raw for arn, raw in zip(arns, values, strict=False) if raw is not None}
            if found:
                out[kind] = found
        return out

    def plan_account(self, account: IamAccount, now: float) -> IamPlan:
        """What writing `account` would change, kind by kind, against what is cached for it now (its fields,
        and the shared AWS-managed policies it lists). Reads only."""
        writes = self.settings.writes
        plans = {}
        for kind, entries in account.entries.items():  # only the kinds this refresh knows (a replica may lack some)
            key = self.redis_key(kind)
            fresh = {**account.kept.get(kind, {}), **entries}  # a rejected item keeps its last good entry
            previous, indexed = self.caches.redis.account_values(key, account.account_id, _owner_of, also=fresh)
            for arn in [a for a in fresh if is_aws_managed(a) and a in previous]:
                # An AWS-managed policy is cached once for every account, with the accountId and attachment counts
                # of whichever account wrote it last: another account's copy of the same policy is no change.
                if not compare(
                    {arn: without(previous[arn], SHARED_ACCOUNT_FIELDS)},
                    {arn: without(fresh[arn], SHARED_ACCOUNT_FIELDS)},
                ).has_changes:
                    fresh[arn] = previous[arn]
            plans[kind] = plan_entries(
                key,
                previous,
                fresh,
                now,
                TTL_SECONDS,
                writes.renew_entries_after_seconds,
                indexed,
                keep=frozenset(f for f in previous if is_aws_managed(f)),
                volatile=writes.volatile_fields,
            )
        return IamPlan(account, plans)

    def apply(self, plan: IamPlan) -> tuple[WriteReport, dict[str, dict[str, int]]]:
        """Write only what `plan` says changed (and unchanged entries due for renewal): DynamoDB first, then Redis
        in one transaction, then the S3 files whose content changed. A failure part-way leaves Redis (what the web
        reads first) as it was, and the next run plans the same writes again."""
        account = plan.account
        report = WriteReport()
        aid = account.account_id
        hydrated = account.raw is None
        dynamo = self.caches.dynamo
        table = self._table
        roles = plan.kinds.get("roles")
        if not hydrated and roles is not None and dynamo is not None and not dynamo.table_exists(table):
            report.notes.append(f"DynamoDB table {table} does not exist: role items not written")
        elif not hydrated and roles is not None and dynamo is not None:
            items, too_big = [], []
            for entry in roles.writes.values():
                (too_big if len(dumps_consoleme(entry)) > DYNAMO_ITEM_LIMIT else items).append(entry)
            report.dynamodb_written += dynamo.put_items(table, items, ROLE_KEY_NAMES) or 0
            gone = [{"arn": arn, "accountId": aid} for arn in roles.deletes]
            report.dynamodb_deleted += dynamo.delete_items(table, gone, ROLE_KEY_NAMES) or 0
            if too_big:
                report.notes.append(
                    f"{len(too_big)} role(s) over DynamoDB's 400 KB item limit kept in Redis only: "
                    + ", ".join(e["arn"] for e in too_big[:5])
                )
        counts = self.caches.redis.apply_account_plans(aid, plan.kinds.values(), shared=is_aws_managed)
        self._combined_changed(plan.changed_kinds)
        report.redis_keys += [p.key for p in plan.kinds.values()]
        report.redis_written += sum(c["written"] for c in counts.values())
        report.redis_deleted += sum(c["deleted"] for c in counts.values())
        if not hydrated:  # each file holds what its entries hold: written when those changed (GAAD: any kind)
            changed = plan.changed_kinds
            if account.gaad is not None and GAAD in self._account_files:
                self.caches.s3_copies.put(
                    self._account_files[GAAD], account.gaad, report, skip_if_recent=not changed, account_id=aid
                )
            for kind in KINDS:
                if kind in self._account_files:
                    data = account.raw.get(kind, [])
                    self.caches.s3_copies.put(
                        self._account_files[kind], data, report, skip_if_recent=kind not in changed, account_id=aid
                    )
        report.notes += account.notes
        return report, counts  # by Redis key

    def write_account(
        self, account: IamAccount, now: float | None = None
    ) -> tuple[WriteReport, dict[str, dict[str, int]]]:
        """Plan and apply in one go (callers without a publish guard or history)."""
        return self.apply(self.plan_account(account, time.time() if now is None else now))

    # -- one role at a time (refresh_iam_role, role-change events) ----------------------------------

    def entries(self, kind: str) -> Iterator[tuple[str, Any]]:
        """(ARN, decoded entry) of every cached entry of a kind, streamed (HSCAN)."""
        return self.caches.iter_json_hash(self.redis_key(kind))

    def role_values(self, arns: list[str]) -> dict[str, str]:
        """{arn: cached raw entry} of those roles that are cached."""
        if not arns:
            return {}
        values = self.caches.redis.client.hmget(self.redis_key("roles"), arns)
        return {arn: raw for arn, raw in zip(arns, values, strict=False) if raw is not None}

    def role_count(self) -> int:
        return int(self.caches.redis.client.hlen(self.redis_key("roles")))

    def cached_role_arns(self, account_id: str, role_name: str) -> list[str]:
        """The account's IAM_ROLE_CACHE fields for the role called `role_name`, whatever its path (a role name
        is unique in its account; events name the role without its path)."""
        fields = self.caches.redis.owned_fields(self.redis_key("roles"), account_id, _owner_of)
        return sorted(f for f in fields if parse_arn(f).resource_type == "role" and parse_arn(f).name == role_name)

    def write_role(self, entry: dict[str, Any]) -> list[str]:
        """DynamoDB item, then the IAM_ROLE_CACHE field; returns notes (e.g. no table, item too big)."""
        notes = []
        dynamo, table = self.caches.dynamo, self._table
        if dynamo is not None and not dynamo.table_exists(table):
            notes.append(f"DynamoDB table {table} does not exist: role item not written")
        elif dynamo is not None and len(dumps_consoleme(entry)) > DYNAMO_ITEM_LIMIT:
            notes.append(f"{entry['arn']} is over DynamoDB's 400 KB item limit: kept in Redis only")
        elif dynamo is not None:
            dynamo.put_items(table, [entry], ROLE_KEY_NAMES)
        self.caches.redis.set_account_field(self.redis_key("roles"), str(entry["accountId"]), entry["arn"], entry)
        self._combined_changed({"roles"})
        return notes

    def remove_roles(self, account_id: str, arns: list[str]) -> None:
        """Drop the roles' DynamoDB items and IAM_ROLE_CACHE fields (roles that no longer exist)."""
        dynamo, table = self.caches.dynamo, self._table
        if dynamo is not None and arns and dynamo.table_exists(table):
            dynamo.delete_items(table, [{"arn": arn, "accountId": account_id} for arn in arns], ROLE_KEY_NAMES)
        for arn in arns:
            self.caches.redis.delete_account_field(self.redis_key("roles"), account_id, arn)
        if arns:
            self._combined_changed({"roles"})

    def _combined_changed(self, kinds: Iterable[str]) -> None:
        """The hashes of `kinds` changed: their combined files are rewritten by the next `write_combined`, whoever
        writes it (a role-change event or another range's run may have changed the hash)."""
        for kind in kinds:
            if kind in self._combined_files:
                self.caches.s3_copies.forget(self._combined_files[kind])

    def write_combined(self) -> WriteReport:
        """cache_all_{roles,users,groups,policies}_v1.json.gz = {arn: entry JSON string} from each whole hash;
        of a kind whose hash did not change since its file was written, only if that was not recently."""
        report = WriteReport()
        for kind in KINDS:
            data = StringMap(self.caches.redis.client.hscan_iter(self.redis_key(kind), count=1000))
            self.caches.s3_copies.put(self._combined_files[kind], data, report, skip_if_recent=True)
        return report

    # -- replica hydration ------------------------------------------------------------------------

    def roles_from_dynamo(self, account_id: str) -> dict[str, dict[str, Any]]:
        """The account's role entries from the global table (scanned once per run, grouped by account)."""
        with self._lock:
            if self._dynamo_roles is None:
                if self.caches.dynamo is None:
                    raise LookupError("no DynamoDB configured to hydrate roles from")
                grouped: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
                for item in self.caches.dynamo.scan(self._table):
                    grouped[str(item.get("accountId"))][item["arn"]] = item
                self._dynamo_roles = dict(grouped)
        return self._dynamo_roles.get(account_id, {})

    def entries_from_combined(self, kind: str, account_id: str) -> dict[str, str] | None:
        """The account's entries in the primary's cache_all_* file, or None if that file is absent."""
        try:
            combined = self.caches.s3_copies.read_once(self._combined_files[kind])
        except LookupError:
            return None
        out = {}
        for arn, value in combined.items():
            entry = json.loads(value) if isinstance(value, str) else value
            if str(entry.get("accountId")) == account_id:
                out[arn] = value if isinstance(value, str) else dumps_consoleme(value)
        return out
