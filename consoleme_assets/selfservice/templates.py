"""Honeybee resource templates in a repository checkout -> ConsoleMe's templated resources (spec §5.17).
Pure except for reading the files it is given.

Paths follow ConsoleMe's clone layout: `file_path` is `<checkout name>/<path in repo>` (what `path_prefix` and
`path_suffix` are matched against), `resource` the path in the repo ("/<name>" for a file at the repo's top,
as ConsoleMe computed it).

YAML is read with PyYAML's safe loader (already a dependency) instead of ruamel: for the top-level keys and
string values used here they agree.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..settings.selfservice import TemplateRepository

HONEYBEE = "honeybee"


@dataclass
class RepositoryTemplates:
    templates: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "<file>: <why>", for the log and metadata
    files_seen: int = 0


def paths_for(repository: TemplateRepository, path_in_repo: str) -> tuple[str, str]:
    """(file_path, resource) for a file at `path_in_repo` (POSIX, relative to the checkout's top)."""
    folder, _, filename = path_in_repo.rpartition("/")
    return f"{repository.checkout_name}/{path_in_repo}", f"{folder}/{filename}"


def condition_matches_path(condition: dict[str, Any], file_path: str) -> bool:
    prefix, suffix = condition.get("path_prefix"), condition.get("path_suffix")
    return (not prefix or file_path.startswith(prefix)) and (not suffix or file_path.endswith(suffix))


def content_matches(condition: dict[str, Any], content: dict[str, Any]) -> bool:
    """`file_content.includes`: every key must be a top-level key; `excludes`: none may be."""
    rules = condition.get("file_content") or {}
    return all(k in content for k in rules.get("includes") or []) and not any(
        k in content for k in rules.get("excludes") or []
    )


def accounts_matching(include: Iterable[str], exclude: Iterable[str], account_names: Iterable[str]) -> set[str]:
    """Account names matching an IncludeAccounts pattern and no ExcludeAccounts pattern (fnmatch)."""
    names = set(account_names)
    chosen = {n for n in names for pattern in include if fnmatch.fnmatch(n, str(pattern))}
    return {n for n in chosen if not any(fnmatch.fnmatch(n, str(pattern)) for pattern in exclude)}


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ValueError(f"expected a list of account name patterns, got {type(value).__name__}")


def template_entry(
    repository: TemplateRepository,
    resource_type: str,
    path_in_repo: str,
    content: dict[str, Any],
    account_names: Iterable[str],
) -> dict[str, Any]:
    """One `templated_resources` entry, ConsoleMe's field names and order."""
    file_path, resource = paths_for(repository, path_in_repo)
    filename = path_in_repo.rsplit("/", 1)[-1]
    include = _string_list(content.get("IncludeAccounts"))
    exclude = _string_list(content.get("ExcludeAccounts"))
    name = content.get("TemplateName", content.get("Name", filename))
    owner = content.get("Owner")
    return {
        "name": None if name is None else str(name),
        "owner": None if owner is None else str(owner),
        "include_accounts": include,
        "exclude_accounts": exclude,
        "number_of_accounts": len(accounts_matching(include, exclude, account_names)),
        "resource": resource,
        "resource_type": resource_type,
        "repository_name": repository.name,
        "template_language": HONEYBEE,
        "web_path": repository.web_path.format(relative_path=resource),
        "file_path": file_path,
        "content": None,
    }


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise ValueError(f"top level is {type(loaded).__name__}, not a mapping")
    return loaded


def templates_in_checkout(
    repository: TemplateRepository, checkout: Path, files: Iterable[str], account_names: Iterable[str]
) -> RepositoryTemplates:
    """Every honeybee template among `files` (paths in the repo): per file, the first resource type whose
    first matching condition (path prefix/suffix, then top-level keys) accepts it. A file that matches a
    path condition but is not a YAML mapping is listed as unreadable, not a template (ConsoleMe skipped it)."""
    out = RepositoryTemplates()
    if HONEYBEE not in repository.resource_formats:
        return out
    parsers = repository.resource_type_parser.get(HONEYBEE, {})
    names = list(account_names)
    for path_in_repo in sorted(files):
        out.files_seen += 1
        try:
            entry = _first_match(repository, parsers, checkout, path_in_repo, names)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            file_path, _ = paths_for(repository, path_in_repo)
            out.unreadable.append(f"{file_path}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        if entry is not None:
            out.templates.append(entry)
    return out


def _first_match(
    repository: TemplateRepository,
    parsers: dict[str, list[dict[str, Any]]],
    checkout: Path,
    path_in_repo: str,
    names: list[str],
) -> dict[str, Any] | None:
    file_path, _ = paths_for(repository, path_in_repo)
    content: dict[str, Any] | None = None  # read once, and only if a path condition matches
    for resource_type, conditions in parsers.items():
        for condition in conditions:
            if not condition_matches_path(condition, file_path):
                continue
            if content is None:
                content = _load(checkout / path_in_repo)
            if content_matches(condition, content):
                return template_entry(repository, resource_type, path_in_repo, content, names)
    return None
