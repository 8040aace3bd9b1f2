"""Settings: one typed model loaded from a ConsoleMe-style YAML file (`CONSOLEME_ASSETS_CONFIG`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .fields import normalize_account_id
from .keys import RedisKeys, S3Object
from .loader import ConfigTree, RemoteReader, SettingsError, load_config_tree
from .model import OrganizationSource, Settings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "OrganizationSource",
    "RedisKeys",
    "RemoteReader",
    "S3Object",
    "Settings",
    "SettingsError",
    "load_settings",
    "normalize_account_id",
    "settings_from_tree",
]

log = logging.getLogger(__name__)

CONFIG_ENV = "CONSOLEME_ASSETS_CONFIG"
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "default.yaml"
_MISSING = object()


def _field_keys(field: Any, name: str) -> list[str]:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return list(extra.get(name, []))


def _collect(model: type[BaseModel], tree: ConfigTree, loc: tuple, sources: dict, used: list) -> dict:
    """Build the model's input from the config tree, remembering which key fed which field."""
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        keys = _field_keys(field, "consoleme_keys")
        bucket_keys, file_keys = _field_keys(field, "s3_bucket_keys"), _field_keys(field, "s3_file_keys")
        if keys:
            for key in keys:
                value = tree.get(key, _MISSING)
                used.append(key)
                if value is not _MISSING and value is not None:
                    data[name] = value
                    sources[loc + (name,)] = key
                    break
        elif bucket_keys or file_keys:
            default: S3Object = field.default
            obj: dict[str, Any] = {"file": default.file, "fixed": dict(default.fixed)}
            for part, part_keys in (("bucket", bucket_keys), ("file", file_keys)):
                for key in part_keys:
                    value = tree.get(key, _MISSING)
                    used.append(key)
                    if value is not _MISSING and value is not None:
                        obj[part] = value
                        sources[loc + (name, part)] = key
                        break
            data[name] = obj
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            data[name] = _collect(field.annotation, tree, loc + (name,), sources, used)
    return data


def _describe_error(err: Mapping[str, Any], sources: dict, tree: ConfigTree) -> str:
    loc = tuple(err["loc"])
    # Walk up the location until a field that came from a config key is found (list items, dict keys).
    for cut in range(len(loc), 0, -1):
        key = sources.get(loc[:cut])
        if key:
            rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[cut:])
            return f"{tree.origin_of(key)}: key '{key}{rest}': {err['msg']} (got {err.get('input')!r})"
    return f"{tree.files[0]}: setting '{'.'.join(map(str, loc))}': {err['msg']}"


def settings_from_tree(tree: ConfigTree, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    sources: dict[tuple, str] = {}
    used: list[str] = []
    data = _collect(Settings, tree, (), sources, used)
    if "region" not in data:  # ConsoleMe's region chain
        data["region"] = env.get("EC2_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    if env.get("REDIS_URL"):
        data["redis_url"] = env["REDIS_URL"]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe_error(e, sources, tree) for e in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
    if settings.accounts_from_organizations and not settings.organizations:
        raise SettingsError(
            f"{tree.origin_of('cache_cloud_accounts.from_aws_organizations')}: key "
            "'cache_cloud_accounts.from_aws_organizations' is true but 'cache_accounts_from_aws_organizations' "
            "lists no organization"
        )
    for source in settings.organizations:
        try:
            settings.org_role_for(source)
        except ValueError as exc:
            raise SettingsError(f"{tree.origin_of('cache_accounts_from_aws_organizations')}: {exc}") from None
    _check_redis_url(settings)
    unused = [p for p in tree.leaf_paths() if p != "extends" and not any(p == k or p.startswith(k + ".") for k in used)]
    if unused:
        log.debug("config keys not used by consoleme-assets (ignored): %s", ", ".join(unused))
    return settings


def _check_redis_url(settings: Settings) -> None:
    from urllib.parse import urlparse

    from .redis_url import redact_url, redis_url_problem

    url = settings.effective_redis_url
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"REDIS_URL: scheme must be redis://, rediss:// or unix://, got {parsed.scheme!r}")
    problem = redis_url_problem(url)  # e.g. a misspelt ?ssl_ca_certs=, which redis-py rejects only when connecting
    if problem:
        raise SettingsError(f"REDIS_URL {redact_url(url)}: {problem}")


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    read_remote: RemoteReader | None = None,
) -> Settings:
    """Load settings from `path`, else `$CONSOLEME_ASSETS_CONFIG`, else the shipped default file. `read_remote`
    reads ConsoleMe's remote `extends:` entries (S3, Secrets Manager); settings sits below aws/, so the caller
    passes it (`lib.resources.load_deployment_settings` passes the aws/ reader)."""
    env = os.environ if env is None else env
    chosen = path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE
    return settings_from_tree(load_config_tree(chosen, read_remote), env)
