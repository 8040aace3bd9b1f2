"""Validating the shapes ConsoleMe's web tier reads (spec §3, §4, §6): the `Shape` a dataset declares and the
pure helpers its validator is built from. Each validator returns problems, one line per fault, naming the key and
the field at fault (empty = good). The shapes themselves are declared with their datasets, in the domains."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Shape:
    """How one dataset's cache must look, named in its declaration. `problems` gets, by the dataset's storage:
    (key, decoded JSON document) for a Redis string; (key, sample of (account, raw value)) for a per-account
    hash; (key, kind, sample of (ARN, raw value)) for each ARN hash. `entries` counts a document's entries."""

    problems: Callable[..., list[str]]
    entries: Callable[[Any], int] = len


# Field types for `fields_problems` (None allowed where ConsoleMe writes null).
STR, OPT_STR, INT = (str,), (str, type(None)), (int,)
ANY_TEMPLATED = (str, bool, type(None))


def _typename(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def fields_problems(where: str, value: Any, fields: dict[str, tuple[type, ...]]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a JSON object, got {type(value).__name__}"]
    out = []
    for name, types in fields.items():
        if name not in value:
            out.append(f"{where}: field '{name}' is missing")
        elif not isinstance(value[name], types) or (types == INT and isinstance(value[name], bool)):
            out.append(f"{where}: field '{name}' should be {_typename(types)}, got {type(value[name]).__name__}")
    return out


def decode(where: str, raw: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(raw), []
    except ValueError:
        return None, [f"{where}: value is not JSON"]


def account_lists_problems(key: str, sample: Iterable[tuple[str, str]], prefix: str | None = None) -> list[str]:
    """`sample`: (account id, raw value) pairs of S3_BUCKETS / SQS_QUEUES / SNS_TOPICS / IAM_MANAGED_POLICIES;
    `prefix`: how each item must start (None: any string)."""
    out: list[str] = []
    for account, raw in sample:
        where = f"{key}[{account}]"
        if not (len(account) == 12 and account.isdigit()):
            out.append(f"{where}: field is not a 12-digit account id")
        value, errs = decode(where, raw)
        if errs:
            out += errs
        elif not isinstance(value, list):
            out.append(f"{where}: expected a JSON list of strings, got {type(value).__name__}")
        else:
            bad = [v for v in value if not isinstance(v, str) or (prefix and not v.startswith(prefix))]
            if bad:
                want = f"strings starting with {prefix!r}" if prefix else "strings"
                out.append(f"{where}: expected {want}, got {bad[0]!r}")
        if len(out) >= MAX_PROBLEMS:
            break
    return out[:MAX_PROBLEMS]


def list_of(key: str, doc: Any) -> list[str]:
    return [] if isinstance(doc, list) else [f"{key}: expected a JSON list, got {type(doc).__name__}"]


def object_of(key: str, doc: Any) -> list[str]:
    return [] if isinstance(doc, dict) else [f"{key}: expected a JSON object, got {type(doc).__name__}"]


def values_of(expected: str, ok: Callable[[Any], bool]) -> Shape:
    """A JSON object whose values each pass `ok` (the first 200 are checked); `expected` says what a value must be."""

    def problems(key: str, doc: Any) -> list[str]:
        return (
            object_of(key, doc)
            or [
                f"{key}[{k}]: expected {expected}, got {repr(v)[:60]}" for k, v in list(doc.items())[:200] if not ok(v)
            ][:MAX_PROBLEMS]
        )

    return Shape(problems)


def listed_in(field: str, required: dict[str, tuple[type, ...]]) -> Callable[[str, Any], list[str]]:
    """A document `{"<field>": [entries]}` whose entries carry `required` (spec §5.17, §5.18)."""

    def problems(key: str, doc: Any) -> list[str]:
        if errs := object_of(key, doc):
            return errs
        entries = doc.get(field)
        if not isinstance(entries, list):
            return [f"{key}: field '{field}' is missing or not a list"]
        out = []
        for i, entry in enumerate(entries[:200]):
            out += fields_problems(f"{key}.{field}[{i}]", entry, required)
        return out[:MAX_PROBLEMS]

    return problems


def account_list_of(prefix: str | None) -> Shape:
    return Shape(lambda key, sample: account_lists_problems(key, sample, prefix))


def missing_accounts(active: Iterable[str], present: dict[str, bool]) -> list[str]:
    """Active accounts with no field in a per-account hash (pure)."""
    return sorted(a for a in active if not present.get(a))
