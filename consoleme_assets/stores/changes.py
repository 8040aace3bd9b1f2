"""Change detection between what a cache holds and what a refresh is about to write (issue 22): which keys were
added, changed (which top-level fields), removed or left alone; a hash of each value; and a readable, bounded,
what a write of one account's entries does (stores/field_diff.py has the readable field-level diff). Pure and
stdlib-only: the stores and the framework call it with what Redis holds (JSON strings) or with the records they
built (objects)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

IGNORED = ("ttl",)  # rewritten on every write (write time + 36 h): never a change
KINDS = ("added", "changed", "removed", "unchanged")


# -- canonical form and hashes --------------------------------------------------------------------------------


def _decoded(text: str) -> Any:
    """A string holding a JSON object or list (the entries' `policy` field, ConsoleMe's nested Config documents,
    a policy document botocore left URL-encoded, see iam/records.py) as that object; any other string as is."""
    if text.lstrip()[:1] in ("{", "["):
        candidate = text
    elif text[:3].upper() in ("%7B", "%5B"):
        candidate = unquote(text)
    else:
        return text
    try:
        parsed = json.loads(candidate)
    except ValueError:  # not JSON after all: compared as the plain string it is
        return text
    return _canon(parsed) if isinstance(parsed, (dict, list)) else text


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, str):
        return _decoded(value)
    return value


def canonical(value: Any, ignore: tuple[str, ...] = IGNORED) -> Any:
    """`value` (a JSON string, bytes or a decoded object) with every JSON-string field decoded, recursively, and
    the `ignore`d top-level fields dropped. A top-level list of scalars (a per-account list) is sorted: its
    content is which items it holds, not their order. Compare results with `dump_canonical`, not `==` (1 == True)."""
    value = _canon(value.decode() if isinstance(value, bytes) else value)
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ignore}
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        try:
            return sorted(value)
        except TypeError:  # mixed types: order kept
            return value
    return value


def dump_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def value_hash(value: Any, ignore: tuple[str, ...] = IGNORED) -> str:
    """sha256 hex of the canonical JSON: equal for values that differ only in ignored fields, key order, list
    order of a per-account list, or JSON-in-a-string versus the object itself."""
    return hashlib.sha256(dump_canonical(canonical(value, ignore)).encode()).hexdigest()


# -- which keys changed ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeSet:
    """Keys by kind, each sorted; `changed` maps each changed key to its changed top-level fields (sorted; empty
    when the value is not a JSON object, e.g. a per-account list)."""

    added: tuple[str, ...] = ()
    changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def changed_keys(self) -> tuple[str, ...]:
        return tuple(self.changed)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def keys(self, kind: str) -> tuple[str, ...]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        return self.changed_keys if kind == "changed" else getattr(self, kind)

    def counts(self) -> dict[str, int]:
        return {kind: len(self.keys(kind)) for kind in KINDS}

    def first(self, n: int = 10) -> dict[str, list[str]]:
        return {kind: list(self.keys(kind)[:n]) for kind in KINDS}


def _top(value: Any) -> Any:
    """The value's top level decoded, its fields left as they are (decoded only when they differ)."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value.lstrip()[:1] == "{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _same(x: Any, y: Any) -> bool:
    """Canonically equal. Cheap first: identical text, or identical JSON up to key order; decoding (the costly
    part: a role's `policy` is kilobytes of JSON in a string) only for a field whose text differs."""
    if isinstance(x, str) and isinstance(y, str) and x == y:
        return True
    if not (isinstance(x, str) or isinstance(y, str)) and dump_canonical(x) == dump_canonical(y):
        return True
    return dump_canonical(_canon(x)) == dump_canonical(_canon(y))


def compare(previous: Mapping[str, Any], fresh: Mapping[str, Any], ignore: tuple[str, ...] = IGNORED) -> ChangeSet:
    """What a write of `fresh` over `previous` (both key -> value, as cached or as built) would change."""
    changed: dict[str, tuple[str, ...]] = {}
    unchanged = []
    for key in sorted(previous.keys() & fresh.keys()):
        a, b = _top(previous[key]), _top(fresh[key])
        if isinstance(a, dict) and isinstance(b, dict):  # an entry: compared field by field
            names = (a.keys() | b.keys()) - set(ignore)
            fields = tuple(sorted(k for k in names if k not in a or k not in b or not _same(a[k], b[k])))
            same = not fields
        else:  # a per-account list, or not JSON at all
            fields, same = (), dump_canonical(canonical(a, ignore)) == dump_canonical(canonical(b, ignore))
        if same:
            unchanged.append(key)
        else:
            changed[key] = fields
    return ChangeSet(
        added=tuple(sorted(fresh.keys() - previous.keys())),
        changed=changed,
        removed=tuple(sorted(previous.keys() - fresh.keys())),
        unchanged=tuple(unchanged),
    )


def summarize(changes: ChangeSet, limit: int = 10) -> dict[str, Any]:
    """JSON-ready metadata: counts, the first `limit` keys of each kind, and the first changed keys' fields."""
    return {
        "counts": changes.counts(),
        "first": changes.first(limit),
        "changed_fields": {k: list(f) for k, f in list(changes.changed.items())[:limit]},
    }


# -- what a write of one account's entries does ----------------------------------------------------------


def ttl_in(value: Any) -> float | None:
    """The entry's `ttl` (epoch seconds), when it is a JSON object carrying a number there."""
    top = _top(value)
    ttl = top.get("ttl") if isinstance(top, dict) else None
    return float(ttl) if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) else None


def renewal_due(cached: Any, now: float, lifetime: float, renew_after: float) -> bool:
    """An unchanged entry is written again once it was written `renew_after` ago (its ttl, written as write time
    + `lifetime`, says when): before ConsoleMe's readers stop trusting it (ttl - 1 h) and DynamoDB's TTL
    deletes it. An entry without a ttl never needs it."""
    ttl = ttl_in(cached)
    return ttl is not None and ttl - now <= lifetime - renew_after


@dataclass
class EntriesPlan:
    """One account's fields in one shared hash: what is cached (`previous`, raw), what the refresh built
    (`fresh`), and so what to write (added, changed, and unchanged entries due for renewal) and delete."""

    key: str
    previous: dict[str, str]
    fresh: dict[str, Any]
    changes: ChangeSet
    renew: tuple[str, ...] = ()
    indexed: bool = True  # the account's owner index exists (else the write creates it)
    keep: frozenset[str] = frozenset()  # removed but not deleted (shared fields, kept last good entries)

    @property
    def writes(self) -> dict[str, Any]:
        names = (*self.changes.added, *self.changes.changed_keys, *self.renew)
        return {name: self.fresh[name] for name in sorted(names)}

    @property
    def deletes(self) -> list[str]:
        return [name for name in self.changes.removed if name not in self.keep]


def without(value: Any, paths: tuple[str, ...]) -> Any:
    """The value decoded, without the fields `paths` name ("field" or "field.inner", the inner field of a JSON
    object or of a JSON string held in `field`)."""
    top = _top(value)
    if not isinstance(top, dict) or not paths:
        return top
    out = dict(top)
    for path in paths:
        head, _, rest = path.partition(".")
        if not rest:
            out.pop(head, None)
            continue
        inner = _top(out.get(head))
        if isinstance(inner, dict) and rest in inner:
            out[head] = {k: v for k, v in inner.items() if k != rest}
    return out


def settle(
    changes: ChangeSet, previous: Mapping[str, Any], fresh: Mapping[str, Any], paths: tuple[str, ...]
) -> ChangeSet:
    """`changes` with the changed keys that differ only in `paths` counted unchanged (only those are decoded)."""
    if not paths or not changes.changed:
        return changes
    moved = {
        k
        for k in changes.changed
        if not compare({k: without(previous[k], paths)}, {k: without(fresh[k], paths)}).has_changes
    }
    if not moved:
        return changes
    return ChangeSet(
        added=changes.added,
        changed={k: f for k, f in changes.changed.items() if k not in moved},
        removed=changes.removed,
        unchanged=tuple(sorted((*changes.unchanged, *moved))),
    )


def plan_entries(
    key: str,
    previous: Mapping[str, str],
    fresh: Mapping[str, Any],
    now: float,
    lifetime: float,
    renew_after: float,
    indexed: bool = True,
    keep: frozenset[str] = frozenset(),
    volatile: tuple[str, ...] = (),
) -> EntriesPlan:
    """`volatile`: paths whose change alone is not worth a write (e.g. a role's last use); the entry is written
    again with its renewal."""
    changes = settle(compare(previous, fresh), previous, fresh, volatile)
    renew = tuple(k for k in changes.unchanged if renewal_due(previous[k], now, lifetime, renew_after))
    return EntriesPlan(key, dict(previous), dict(fresh), changes, renew, indexed, keep)
