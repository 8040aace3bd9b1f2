"""The shapes ConsoleMe's web tier reads (spec §3, §4, §6), as pure validators: each returns problems, one line
per fault, naming the key and the field at fault (empty = good)."""

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


# spec §6.1: what each IAM hash entry carries, and the type of each field (None allowed where ConsoleMe writes null).
_STR, _OPT_STR, _INT = (str,), (str, type(None)), (int,)
_ANY_TEMPLATED = (str, bool, type(None))
IAM_ENTRY_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "roles": {
        "arn": _STR,
        "name": _STR,
        "resourceId": _OPT_STR,
        "accountId": _STR,
        "ttl": _INT,
        "owner": _OPT_STR,
        "policy": _STR,
        "templated": _ANY_TEMPLATED,
    },
    "users": {
        "arn": _STR,
        "name": _OPT_STR,
        "resourceId": _OPT_STR,
        "accountId": _STR,
        "ttl": _INT,
        "owner": _OPT_STR,
        "policy": _STR,
        "templated": _ANY_TEMPLATED,
    },
    "groups": {
        "arn": _STR,
        "name": _OPT_STR,
        "resourceId": _OPT_STR,
        "accountId": _STR,
        "ttl": _INT,
        "policy": _STR,
        "templated": _ANY_TEMPLATED,
    },
    "policies": {
        "arn": _STR,
        "name": _OPT_STR,
        "resourceId": _OPT_STR,
        "accountId": _STR,
        "ttl": _INT,
        "policy": _STR,
        "templated": _ANY_TEMPLATED,
    },
}
ACCOUNT_FIELDS = {"id": _STR, "name": _STR, "status": _STR, "type": _STR, "sync_enabled": (bool,)}
POLICY_ROW_FIELDS = {
    "account_id": _STR,
    "account_name": _STR,
    "arn": _STR,
    "technology": _STR,
    "templated": _ANY_TEMPLATED,
    "errors": _INT,
}


def _typename(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def fields_problems(where: str, value: Any, fields: dict[str, tuple[type, ...]]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a JSON object, got {type(value).__name__}"]
    out = []
    for name, types in fields.items():
        if name not in value:
            out.append(f"{where}: field '{name}' is missing")
        elif not isinstance(value[name], types) or (types == _INT and isinstance(value[name], bool)):
            out.append(f"{where}: field '{name}' should be {_typename(types)}, got {type(value[name]).__name__}")
    return out


def _decode(where: str, raw: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(raw), []
    except ValueError:
        return None, [f"{where}: value is not JSON"]


def iam_entries_problems(key: str, kind: str, sample: Iterable[tuple[str, str]]) -> list[str]:
    """`sample`: (field, raw value) pairs of an IAM hash (field = ARN)."""
    out: list[str] = []
    for arn, raw in sample:
        where = f"{key}[{arn}]"
        value, errs = _decode(where, raw)
        out += errs or fields_problems(where, value, IAM_ENTRY_FIELDS[kind])
        if not errs and isinstance(value, dict):
            if value.get("arn") not in (None, arn):
                out.append(f"{where}: field 'arn' is {value.get('arn')!r}, not the hash field")
            if isinstance(value.get("policy"), str) and _decode(where, value["policy"])[1]:
                out.append(f"{where}: field 'policy' is not a JSON string")
        if len(out) >= MAX_PROBLEMS:
            break
    return out[:MAX_PROBLEMS]


def account_lists_problems(key: str, sample: Iterable[tuple[str, str]], prefix: str | None = None) -> list[str]:
    """`sample`: (account id, raw value) pairs of S3_BUCKETS / SQS_QUEUES / SNS_TOPICS / IAM_MANAGED_POLICIES;
    `prefix`: how each item must start (None: any string)."""
    out: list[str] = []
    for account, raw in sample:
        where = f"{key}[{account}]"
        if not (len(account) == 12 and account.isdigit()):
            out.append(f"{where}: field is not a 12-digit account id")
        value, errs = _decode(where, raw)
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


def accounts_document_problems(key: str, doc: Any) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("accounts"), list):
        return [f'{key}: expected {{"accounts": [...]}}']
    out = []
    for i, account in enumerate(doc["accounts"]):
        out += fields_problems(f"{key}.accounts[{i}]", account, ACCOUNT_FIELDS)
    return out[:MAX_PROBLEMS]


def _list_of(key: str, doc: Any) -> list[str]:
    return [] if isinstance(doc, list) else [f"{key}: expected a JSON list, got {type(doc).__name__}"]


def _object_of(key: str, doc: Any) -> list[str]:
    return [] if isinstance(doc, dict) else [f"{key}: expected a JSON object, got {type(doc).__name__}"]


def policy_rows_problems(key: str, doc: Any) -> list[str]:
    out = _list_of(key, doc)
    for i, row in enumerate(doc[:200] if not out else []):
        out += fields_problems(f"{key}[{i}]", row, POLICY_ROW_FIELDS)
    return out[:MAX_PROBLEMS]


def policy_requests_problems(key: str, doc: Any) -> list[str]:
    return (
        _list_of(key, doc)
        or [
            f"{key}[{i}]: field 'request_id' is missing"
            for i, r in enumerate(doc[:200])
            if not isinstance(r, dict) or "request_id" not in r
        ][:MAX_PROBLEMS]
    )


def credential_mapping_problems(key: str, doc: Any) -> list[str]:
    return (
        _object_of(key, doc)
        or [
            f"{key}[{who}]: expected lists 'authorized_roles' and 'authorized_roles_cli_only'"
            for who, entry in list(doc.items())[:200]
            if not isinstance(entry, dict)
            or not all(isinstance(entry.get(f), list) for f in ("authorized_roles", "authorized_roles_cli_only"))
        ][:MAX_PROBLEMS]
    )


def reverse_mapping_problems(key: str, doc: Any) -> list[str]:
    return (
        _object_of(key, doc)
        or [
            f"{key}[{arn}]: expected a list of identities"
            for arn, v in list(doc.items())[:200]
            if not isinstance(v, list)
        ][:MAX_PROBLEMS]
    )


def error_counts_problems(key: str, doc: Any) -> list[str]:
    return (
        _object_of(key, doc)
        or [
            f"{key}[{arn}]: expected an int count, got {v!r}"
            for arn, v in list(doc.items())[:200]
            if not isinstance(v, int) or isinstance(v, bool)
        ][:MAX_PROBLEMS]
    )


def scps_problems(key: str, doc: Any) -> list[str]:
    return (
        _object_of(key, doc)
        or [f"{key}[{org}]: expected a list of SCPs" for org, v in list(doc.items())[:200] if not isinstance(v, list)][
            :MAX_PROBLEMS
        ]
    )


def listed_in(field: str, required: dict[str, tuple[type, ...]]) -> Callable[[str, Any], list[str]]:
    """A document `{"<field>": [entries]}` whose entries carry `required` (spec §5.17, §5.18)."""

    def problems(key: str, doc: Any) -> list[str]:
        if errs := _object_of(key, doc):
            return errs
        entries = doc.get(field)
        if not isinstance(entries, list):
            return [f"{key}: field '{field}' is missing or not a list"]
        out = []
        for i, entry in enumerate(entries[:200]):
            out += fields_problems(f"{key}.{field}[{i}]", entry, required)
        return out[:MAX_PROBLEMS]

    return problems


def config_entries_problems(key: str, kind: str, sample: Iterable[tuple[str, str]]) -> list[str]:
    """`sample`: (ARN, raw value) pairs of AWSCONFIG_RESOURCE_CACHE: JSON objects with a numeric ttl."""
    out = []
    for arn, raw in sample:
        value, errs = _decode(f"{key}[{arn}]", raw)
        if errs:
            out += errs
        elif not isinstance(value, dict) or not isinstance(value.get("ttl"), (int, float)):
            out.append(f"{key}[{arn}]: field 'ttl' is missing or not a number")
    return out[:MAX_PROBLEMS]


def account_list_of(prefix: str | None) -> Shape:
    return Shape(lambda key, sample: account_lists_problems(key, sample, prefix))


# The shapes the datasets' declarations name.
ACCOUNTS = Shape(accounts_document_problems, entries=lambda doc: len(doc.get("accounts", [])))
POLICY_ROWS = Shape(policy_rows_problems)
POLICY_REQUESTS = Shape(policy_requests_problems)
CREDENTIAL_MAPPING = Shape(credential_mapping_problems)
REVERSE_MAPPING = Shape(reverse_mapping_problems)
ERROR_COUNTS = Shape(error_counts_problems)
SCPS = Shape(scps_problems)
ANY_OBJECT = Shape(_object_of)  # organization_structure: {root_id: root}
TEMPLATED_RESOURCES = Shape(
    listed_in(
        "templated_resources",
        {
            "name": _STR,
            "resource": _STR,
            "resource_type": _STR,
            "repository_name": _STR,
            "template_language": _STR,
            "web_path": _STR,
            "file_path": _STR,
            "number_of_accounts": _INT,
        },
    )
)
TYPEAHEAD = Shape(
    listed_in(
        "typeahead_entries",
        {
            "icon": _STR,
            "number_of_affected_resources": _INT,
            "display_text": _STR,
            "details_endpoint": _STR,
            "principal": (dict,),
        },
    )
)
BUCKET_NAMES = account_list_of(None)  # S3 holds bucket names, not ARNs
QUEUE_ARNS = account_list_of("arn:aws:sqs:")
TOPIC_ARNS = account_list_of("arn:aws:sns:")
POLICY_ARNS = account_list_of("arn:aws:iam::")
IAM_ENTRIES = Shape(iam_entries_problems)
CONFIG_ENTRIES = Shape(config_entries_problems)


def missing_accounts(active: Iterable[str], present: dict[str, bool]) -> list[str]:
    """Active accounts with no field in a per-account hash (pure)."""
    return sorted(a for a in active if not present.get(a))
