"""Change detection between what a cache holds and what a refresh is about to write (issue 22): which keys were
added, changed (which top-level fields), removed or left alone; a hash of each value; and a readable, bounded,
field-level diff of one value, policy documents diffed statement by statement. Pure and stdlib-only: the stores
and the framework call it with what Redis holds (JSON strings) or with the records they built (objects)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

IGNORED = ("ttl",)  # rewritten on every write (write time + 36 h): never a change
MAX_ENTRIES = 200
KINDS = ("added", "changed", "removed", "unchanged")

# Lists of named things, matched by name rather than position (a rename is a remove plus an add).
NAMED_LISTS = {
    "RolePolicyList": "PolicyName",
    "UserPolicyList": "PolicyName",
    "GroupPolicyList": "PolicyName",
    "AttachedManagedPolicies": "PolicyArn",
    "Tags": "Key",
    "PolicyVersionList": "VersionId",
    "InstanceProfileList": "InstanceProfileName",
    "Roles": "Arn",
    "tags": "key",  # AWS Config items
}
_GENERIC_NAMES = ("Key", "key", "Arn", "arn", "Name", "name")  # tried, in order, for lists not named above

# Statement fields whose value is a set of strings: "s3:GetObject" and ["s3:GetObject"] mean the same.
_SET_FIELDS = frozenset({"Action", "NotAction", "Resource", "NotResource"})
_NESTED_SET_FIELDS = frozenset({"Principal", "NotPrincipal", "Condition"})


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
    content is which items it holds, not their order. Compare results with `_dump`, not `==` (1 == True)."""
    value = _canon(value.decode() if isinstance(value, bytes) else value)
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ignore}
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        try:
            return sorted(value)
        except TypeError:  # mixed types: order kept
            return value
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def value_hash(value: Any, ignore: tuple[str, ...] = IGNORED) -> str:
    """sha256 hex of the canonical JSON: equal for values that differ only in ignored fields, key order, list
    order of a per-account list, or JSON-in-a-string versus the object itself."""
    return hashlib.sha256(_dump(canonical(value, ignore)).encode()).hexdigest()


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
    if not (isinstance(x, str) or isinstance(y, str)) and _dump(x) == _dump(y):
        return True
    return _dump(_canon(x)) == _dump(_canon(y))


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
            fields, same = (), _dump(canonical(a, ignore)) == _dump(canonical(b, ignore))
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


# -- field-level diff -----------------------------------------------------------------------------------------


def field_diff(old: Any, new: Any, ignore: tuple[str, ...] = IGNORED, limit: int = MAX_ENTRIES) -> list[dict]:
    """Entries `{"path", "op": "added"|"removed"|"changed", "old"?, "new"?}` (a removed entry has no `new`, an
    added one no `old`), in a deterministic order; at most `limit`, then `{"path": "", "op": "truncated",
    "count": entries left out}`. `old`/`new` None means absent (a key added or removed): every field is then
    added or removed. Statement entries carry `fields`: {sub-field: {"added", "removed"} for sets (Action,
    Resource, Principal.AWS, Condition.<op>.<key>, ...), else {"old"?, "new"?}}."""
    a = None if old is None else canonical(old, ignore)
    b = None if new is None else canonical(new, ignore)
    out: list[dict] = []
    if a is None and b is None:
        return out
    if a is None or b is None:
        present = b if a is None else a
        if isinstance(present, (dict, list)):  # a whole key added/removed: diff against an empty one
            a, b = (type(present)(), b) if a is None else (a, type(present)())
        else:
            out.append({"path": "", "op": "added", "new": b} if a is None else {"path": "", "op": "removed", "old": a})
    if not out:
        _diff("", None, a, b, out)
    if len(out) > limit:
        out = out[:limit] + [{"path": "", "op": "truncated", "count": len(out) - limit}]
    return out


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


def _item(path: str, label: Any) -> str:
    return f"{path}[{label}]" if path else str(label)  # at the top (a per-account list): the item itself


def _diff(path: str, name: str | None, a: Any, b: Any, out: list[dict]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() | b.keys()):
            p = _join(path, k)
            if k not in a:
                out.append({"path": p, "op": "added", "new": b[k]})
            elif k not in b:
                out.append({"path": p, "op": "removed", "old": a[k]})
            elif k == "Statement":
                _statements(p, a[k], b[k], out)
            else:
                _diff(p, k, a[k], b[k], out)
    elif isinstance(a, list) and isinstance(b, list):
        _list(path, name, a, b, out)
    elif type(a) is not type(b) or a != b:
        out.append({"path": path, "op": "changed", "old": a, "new": b})


def _name_key(name: str | None, a: list, b: list) -> str | None:
    """The field naming each item of both lists (present, a string, unique on each side), or None."""
    items = a + b
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ((NAMED_LISTS[name],) if name in NAMED_LISTS else ()) + _GENERIC_NAMES:
        if all(isinstance(i.get(key), str) for i in items) and all(
            len({i[key] for i in side}) == len(side) for side in (a, b)
        ):
            return key
    return None


def _unmatched(a: list, b: list, key: Any) -> tuple[list[int], list[int]]:
    """Indexes of a's items with no equal item left in b, and of b's with none in a (multisets, by `key`)."""
    in_b, in_a = Counter(key(x) for x in b), Counter(key(x) for x in a)
    gone, new = [], []
    for i, x in enumerate(a):
        k = key(x)
        if in_b[k]:
            in_b[k] -= 1
        else:
            gone.append(i)
    for i, y in enumerate(b):
        k = key(y)
        if in_a[k]:
            in_a[k] -= 1
        else:
            new.append(i)
    return gone, new


def _list(path: str, name: str | None, a: list, b: list, out: list[dict]) -> None:
    if all(not isinstance(x, (dict, list)) for x in a + b):  # names, ARNs, actions: membership is the content
        gone, new = _unmatched(a, b, _dump)
        out += [{"path": _item(path, a[i]), "op": "removed", "old": a[i]} for i in gone]
        out += [{"path": _item(path, b[i]), "op": "added", "new": b[i]} for i in new]
        return
    key = _name_key(name, a, b)
    if key is None:  # nothing names the items: matched by content, unmatched ones labelled by position
        gone, new = _unmatched(a, b, _dump)
        out += [{"path": _item(path, i), "op": "removed", "old": a[i]} for i in gone]
        out += [{"path": _item(path, i), "op": "added", "new": b[i]} for i in new]
        return
    by_a, by_b = {x[key]: x for x in a}, {y[key]: y for y in b}
    for label in sorted(by_a.keys() | by_b.keys()):
        p = _item(path, label)
        if label not in by_a:
            out.append({"path": p, "op": "added", "new": by_b[label]})
        elif label not in by_b:
            out.append({"path": p, "op": "removed", "old": by_a[label]})
        else:
            _diff(p, None, by_a[label], by_b[label], out)


# -- IAM policy statements ------------------------------------------------------------------------------------


def _as_set(value: Any) -> Any:
    """A string or a list of strings as a sorted list without repeats; anything else as it is."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(set(value))
    return value


def _flat(statement: dict) -> dict[str, Any]:
    """A statement's fields by dotted name (Principal.AWS, Condition.StringEquals.aws:SourceAccount), set-valued
    ones normalized: what two statements are compared on."""
    out: dict[str, Any] = {}
    for k, v in statement.items():
        if k in _NESTED_SET_FIELDS and isinstance(v, dict):
            for k2, v2 in v.items():
                if k == "Condition" and isinstance(v2, dict):
                    out.update({f"{k}.{k2}.{k3}": _as_set(v3) for k3, v3 in v2.items()})
                else:
                    out[f"{k}.{k2}"] = _as_set(v2)
        else:
            out[k] = _as_set(v) if k in _SET_FIELDS else v
    return out


def _statement_key(statement: Any) -> str:
    return _dump(_flat(statement)) if isinstance(statement, dict) else _dump(statement)


def _sid(statement: Any) -> str | None:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return sid if isinstance(sid, str) and sid else None


def _field_changes(old: dict, new: dict) -> dict[str, dict]:
    fa, fb = _flat(old), _flat(new)
    out: dict[str, dict] = {}
    for f in sorted(fa.keys() | fb.keys()):
        x, y = fa.get(f), fb.get(f)
        if f in fa and f in fb and _dump(x) == _dump(y):
            continue
        is_set = f.split(".")[0] in _SET_FIELDS | _NESTED_SET_FIELDS
        if is_set and isinstance(x, list) and isinstance(y, list):
            out[f] = {"added": [v for v in y if v not in x], "removed": [v for v in x if v not in y]}
        else:
            out[f] = {**({"old": x} if f in fa else {}), **({"new": y} if f in fb else {})}
    return out


def _statements(path: str, a: Any, b: Any, out: list[dict]) -> None:
    """Statements matched by Sid where both sides have it once, the rest by content (a single statement object
    is a one-element list). A matched statement whose content differs is one `changed` entry."""
    sa, sb = (x if isinstance(x, list) else [x] if isinstance(x, dict) else None for x in (a, b))
    if sa is None or sb is None:
        _diff(path, "Statement", a, b, out)
        return
    sids_a, sids_b = (Counter(s for s in map(_sid, side) if s) for side in (sa, sb))
    common = {s for s in sids_a.keys() & sids_b.keys() if sids_a[s] == 1 and sids_b[s] == 1}
    by_a = {_sid(s): s for s in sa if _sid(s) in common}
    by_b = {_sid(s): s for s in sb if _sid(s) in common}
    for sid in sorted(common):
        changes = _field_changes(by_a[sid], by_b[sid])
        if changes:
            entry = {"path": _item(path, sid), "op": "changed", "old": by_a[sid], "new": by_b[sid]}
            out.append({**entry, "fields": changes})
    rest_a = [(i, s) for i, s in enumerate(sa) if _sid(s) not in common]
    rest_b = [(i, s) for i, s in enumerate(sb) if _sid(s) not in common]
    gone, new = _unmatched([s for _, s in rest_a], [s for _, s in rest_b], _statement_key)
    for j in gone:
        i, s = rest_a[j]
        out.append({"path": _item(path, _sid(s) or i), "op": "removed", "old": s})
    for j in new:
        i, s = rest_b[j]
        out.append({"path": _item(path, _sid(s) or i), "op": "added", "new": s})


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
