"""The shapes ConsoleMe's web tier reads (spec §3, §4, §6), as pure validators: each returns problems, one line
per fault, naming the key and the field at fault (empty = good)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MAX_PROBLEMS = 20

# spec §6.1: what each IAM hash entry carries, and the type of each field (None allowed where ConsoleMe writes null).
_STR, _OPT_STR, _INT = (str,), (str, type(None)), (int,)
_ANY_TEMPLATED = (str, bool, type(None))
IAM_ENTRY_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "roles": {"arn": _STR, "name": _STR, "resourceId": _OPT_STR, "accountId": _STR, "ttl": _INT, "owner": _OPT_STR,
              "policy": _STR, "templated": _ANY_TEMPLATED},
    "users": {"arn": _STR, "name": _OPT_STR, "resourceId": _OPT_STR, "accountId": _STR, "ttl": _INT,
              "owner": _OPT_STR, "policy": _STR, "templated": _ANY_TEMPLATED},
    "groups": {"arn": _STR, "name": _OPT_STR, "resourceId": _OPT_STR, "accountId": _STR, "ttl": _INT,
               "policy": _STR, "templated": _ANY_TEMPLATED},
    "policies": {"arn": _STR, "name": _OPT_STR, "resourceId": _OPT_STR, "accountId": _STR, "ttl": _INT,
                 "policy": _STR, "templated": _ANY_TEMPLATED},
}
ACCOUNT_FIELDS = {"id": _STR, "name": _STR, "status": _STR, "type": _STR, "sync_enabled": (bool,)}
POLICY_ROW_FIELDS = {"account_id": _STR, "account_name": _STR, "arn": _STR, "technology": _STR,
                     "templated": _ANY_TEMPLATED, "errors": _INT}
# Per-account list hashes (§6.2): how each item must start (S3 holds bucket names, not ARNs).
LIST_ITEM_PREFIX = {"s3_buckets": None, "sqs_queues": "arn:aws:sqs:", "sns_topics": "arn:aws:sns:",
                    "managed_policies": "arn:aws:iam::"}


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


def account_lists_problems(key: str, dataset: str, sample: Iterable[tuple[str, str]]) -> list[str]:
    """`sample`: (account id, raw value) pairs of S3_BUCKETS / SQS_QUEUES / SNS_TOPICS / IAM_MANAGED_POLICIES."""
    prefix = LIST_ITEM_PREFIX.get(dataset)
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
        return [f"{key}: expected {{\"accounts\": [...]}}"]
    out = []
    for i, account in enumerate(doc["accounts"]):
        out += fields_problems(f"{key}.accounts[{i}]", account, ACCOUNT_FIELDS)
    return out[:MAX_PROBLEMS]


LISTED_IN = {
    "templated_resources": ("templated_resources", {
        "name": _STR, "resource": _STR, "resource_type": _STR, "repository_name": _STR,
        "template_language": _STR, "web_path": _STR, "file_path": _STR, "number_of_accounts": _INT}),
    "self_service_typeahead": ("typeahead_entries", {
        "icon": _STR, "number_of_affected_resources": _INT, "display_text": _STR, "details_endpoint": _STR,
        "principal": (dict,)}),
}


def json_document_problems(key: str, dataset: str, doc: Any) -> list[str]:
    """The Redis string datasets (§4): the container type, and the fields of a sample of items."""
    if dataset == "aws_accounts":
        return accounts_document_problems(key, doc)
    if dataset in ("policies_table", "policy_requests"):
        if not isinstance(doc, list):
            return [f"{key}: expected a JSON list, got {type(doc).__name__}"]
        if dataset == "policies_table":
            out = []
            for i, row in enumerate(doc[:200]):
                out += fields_problems(f"{key}[{i}]", row, POLICY_ROW_FIELDS)
            return out[:MAX_PROBLEMS]
        return [f"{key}[{i}]: field 'request_id' is missing" for i, r in enumerate(doc[:200])
                if not isinstance(r, dict) or "request_id" not in r][:MAX_PROBLEMS]
    if not isinstance(doc, dict):
        return [f"{key}: expected a JSON object, got {type(doc).__name__}"]
    items = list(doc.items())[:200]
    if dataset == "credential_authorization_mapping":
        out = []
        for who, entry in items:
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(f), list) for f in ("authorized_roles", "authorized_roles_cli_only")
            ):
                out.append(f"{key}[{who}]: expected lists 'authorized_roles' and 'authorized_roles_cli_only'")
        return out[:MAX_PROBLEMS]
    if dataset == "reverse_authorization_mapping":
        return [f"{key}[{arn}]: expected a list of identities" for arn, v in items if not isinstance(v, list)][:MAX_PROBLEMS]
    if dataset == "cloudtrail_errors_by_arn":
        return [f"{key}[{arn}]: expected an int count, got {v!r}" for arn, v in items
                if not isinstance(v, int) or isinstance(v, bool)][:MAX_PROBLEMS]
    if dataset == "service_control_policies":
        return [f"{key}[{org}]: expected a list of SCPs" for org, v in items if not isinstance(v, list)][:MAX_PROBLEMS]
    if dataset in LISTED_IN:  # {"<field>": [entries]} (spec §5.17, §5.18)
        field, required = LISTED_IN[dataset]
        entries = doc.get(field)
        if not isinstance(entries, list):
            return [f"{key}: field '{field}' is missing or not a list"]
        out = []
        for i, entry in enumerate(entries[:200]):
            out += fields_problems(f"{key}.{field}[{i}]", entry, required)
        return out[:MAX_PROBLEMS]
    return []  # organization_structure: any object ({root_id: root})


def missing_accounts(active: Iterable[str], present: dict[str, bool]) -> list[str]:
    """Active accounts with no field in a per-account hash (pure)."""
    return sorted(a for a in active if not present.get(a))
