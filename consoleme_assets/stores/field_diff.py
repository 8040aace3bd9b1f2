"""A readable, bounded, field-level diff of one cached value against another (issue 22's change records): lists of
named things matched by name, IAM policy documents diffed statement by statement. Pure and stdlib-only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from .changes import IGNORED, canonical, dump_canonical

MAX_ENTRIES = 200

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


def _both(a: dict, b: dict, path_of: Any, out: list[dict]) -> Iterator[tuple[Any, str]]:
    """Labels of `a` and `b` in order: one side only is an added/removed entry in `out`; (label, path) of those
    on both sides are yielded for the caller to compare."""
    for label in sorted(a.keys() | b.keys()):
        p = path_of(label)
        if label not in a:
            out.append({"path": p, "op": "added", "new": b[label]})
        elif label not in b:
            out.append({"path": p, "op": "removed", "old": a[label]})
        else:
            yield label, p


def _diff(path: str, name: str | None, a: Any, b: Any, out: list[dict]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k, p in _both(a, b, lambda k: _join(path, k), out):
            if k == "Statement":
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

    def left_over(side: list, other: list) -> list[int]:
        available = Counter(key(x) for x in other)
        out = []
        for i, x in enumerate(side):
            k = key(x)
            if available[k]:
                available[k] -= 1
            else:
                out.append(i)
        return out

    return left_over(a, b), left_over(b, a)


def _list(path: str, name: str | None, a: list, b: list, out: list[dict]) -> None:
    if all(not isinstance(x, (dict, list)) for x in a + b):  # names, ARNs, actions: membership is the content
        gone, new = _unmatched(a, b, dump_canonical)
        out += [{"path": _item(path, a[i]), "op": "removed", "old": a[i]} for i in gone]
        out += [{"path": _item(path, b[i]), "op": "added", "new": b[i]} for i in new]
        return
    key = _name_key(name, a, b)
    if key is None:  # nothing names the items: matched by content, unmatched ones labelled by position
        gone, new = _unmatched(a, b, dump_canonical)
        out += [{"path": _item(path, i), "op": "removed", "old": a[i]} for i in gone]
        out += [{"path": _item(path, i), "op": "added", "new": b[i]} for i in new]
        return
    by_a, by_b = {x[key]: x for x in a}, {y[key]: y for y in b}
    for label, p in _both(by_a, by_b, lambda label: _item(path, label), out):
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
    return dump_canonical(_flat(statement)) if isinstance(statement, dict) else dump_canonical(statement)


def _sid(statement: Any) -> str | None:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return sid if isinstance(sid, str) and sid else None


def _field_changes(old: dict, new: dict) -> dict[str, dict]:
    fa, fb = _flat(old), _flat(new)
    out: dict[str, dict] = {}
    for f in sorted(fa.keys() | fb.keys()):
        x, y = fa.get(f), fb.get(f)
        if f in fa and f in fb and dump_canonical(x) == dump_canonical(y):
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
