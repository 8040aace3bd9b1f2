"""Read ConsoleMe-style YAML config files: `extends:` chains, dotted look-ups, provenance.

ConsoleMe semantics kept: `extends` paths are relative to the directory of the first file; the extending
file wins over what it extends, and earlier entries of an `extends` list win over later ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class SettingsError(ValueError):
    """A config file or key is wrong. The message names the file and the key at fault."""


_MISSING = object()


@dataclass
class ConfigTree:
    """The merged config of one file and everything it extends, with the file each leaf came from."""

    data: dict[str, Any]
    files: list[str]
    origins: dict[str, str] = field(default_factory=dict)  # dotted leaf path -> file

    def get(self, dotted: str, default: Any = _MISSING) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def has(self, dotted: str) -> bool:
        return self.get(dotted) is not _MISSING

    def origin_of(self, dotted: str) -> str:
        """The file a key's value came from (for dict values: the file of its first leaf)."""
        if dotted in self.origins:
            return self.origins[dotted]
        prefix = dotted + "."
        for path, origin in self.origins.items():
            if path.startswith(prefix):
                return origin
        parts = dotted.split(".")
        while parts:  # a key under a non-dict value: blame the file of the nearest parent
            parts.pop()
            if ".".join(parts) in self.origins:
                return self.origins[".".join(parts)]
        return self.files[0] if self.files else "<no file>"

    def leaf_paths(self) -> list[str]:
        return sorted(self.origins)


def _read_yaml(path: Path, source: str) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(f"{source}: config file not found: {path}") from None
    except OSError as exc:
        raise SettingsError(f"{source}: cannot read config file {path}: {exc}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SettingsError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of keys, got {type(loaded).__name__}")
    return loaded


REMOTE_PREFIXES = ("AWS_SECRETS_MANAGER:", "AWS_S3:s3://")
# (source) -> the text it names; ConsoleMe also extends from `AWS_SECRETS_MANAGER:<name>` and
# `AWS_S3:s3://bucket/key`. Reading them calls AWS, which only aws/ does: the caller passes the reader.
RemoteReader = Callable[[str], str]


def _read_remote(source: str, referrer: str, read_remote: RemoteReader | None) -> dict[str, Any]:
    if read_remote is None:
        raise SettingsError(f"{referrer}: extended config {source!r} is remote, and no reader for it was given")
    try:
        text = read_remote(source)
    except Exception as exc:  # any AWS or parse failure: name the source
        raise SettingsError(
            f"{referrer}: cannot read extended config {source!r}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{source} (extended by {referrer}): not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"{source} (extended by {referrer}): the top level must be a mapping")
    return loaded


def _merge_missing(target: dict[str, Any], incoming: dict[str, Any]) -> None:
    """Copy into `target` what it lacks; on conflicts the value already there wins (ConsoleMe's dict_merge)."""
    for key, value in incoming.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            _merge_missing(target[key], value)
        elif key not in target:
            target[key] = value


def _record_origins(tree: dict[str, Any], origin: str, origins: dict[str, str], prefix: str = "") -> None:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _record_origins(value, origin, origins, path + ".")
        else:
            origins.setdefault(path, origin)


def load_config_tree(path: str | os.PathLike[str], read_remote: RemoteReader | None = None) -> ConfigTree:
    """Load `path` and, recursively, every file its `extends:` lists name (remote ones through `read_remote`)."""
    main = Path(path).resolve()
    data = _read_yaml(main, "CONSOLEME_ASSETS_CONFIG")
    tree = ConfigTree(data=data, files=[str(main)])
    _record_origins(data, str(main), tree.origins)
    base_dir = main.parent
    seen = {str(main)}

    def follow(extends: Any, referrer: str) -> None:
        if extends is None:
            return
        if isinstance(extends, str):
            extends = [extends]
        if not isinstance(extends, list) or not all(isinstance(e, str) for e in extends):
            raise SettingsError(f"{referrer}: key 'extends' must be a list of file names, got {extends!r}")
        for entry in extends:
            if entry.startswith(REMOTE_PREFIXES):
                name, loaded = entry, _read_remote(entry, referrer, read_remote)
            else:
                target = (base_dir / entry).resolve()
                name = str(target)
                if name in seen:
                    raise SettingsError(f"{referrer}: 'extends' entry {entry!r} forms a cycle")
                loaded = _read_yaml(target, f"{referrer} (extends)")
            seen.add(name)
            tree.files.append(name)
            _merge_missing(tree.data, loaded)
            _record_origins(loaded, name, tree.origins)
            follow(loaded.get("extends"), name)

    follow(data.get("extends"), str(main))
    return tree
