"""The one resource every asset uses: settings, AWS sessions, and ConsoleMe's caches (the stores) built from them.
Assets write and read the caches through the stores' public methods (`caches()`); no client of Redis, S3 or
DynamoDB is handed out here."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from ..aws.config_files import read_remote_config
from ..aws.sessions import AwsSessions
from ..settings import Settings, load_settings
from ..stores.caches import ConsoleMeCaches
from ..stores.connect import RedisUnreachable, check_redis, open_caches

__all__ = ["ConsoleMeResource", "RedisUnreachable", "check_redis", "load_deployment_settings"]


def load_deployment_settings(config_file: str | os.PathLike[str] | None = None) -> Settings:
    """The settings of this deployment ($CONSOLEME_ASSETS_CONFIG or `config_file`), remote `extends:` included."""
    return load_settings(config_file, read_remote=read_remote_config)


class ConsoleMeResource(dg.ConfigurableResource):
    """Settings from `config_file` (default: $CONSOLEME_ASSETS_CONFIG, else the shipped default)."""

    config_file: str | None = None

    _settings: Settings | None = PrivateAttr(default=None)
    _sessions: AwsSessions | None = PrivateAttr(default=None)
    _caches: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_deployment_settings(self.config_file)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_deployment_settings(self.config_file)
        return self._settings

    @property
    def sessions(self) -> AwsSessions:
        if self._sessions is None:
            self._sessions = AwsSessions(self.settings)
        return self._sessions

    def caches(self) -> ConsoleMeCaches:
        """One per resource instance (per run), so S3 files read for hydration are read once."""
        if self._caches is None:
            self._caches = open_caches(self.settings, self.sessions)
        return self._caches

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._caches is not None:
            self._caches.close()
