"""The one resource every asset uses: settings, AWS sessions, and ConsoleMe's caches (the stores) built from them.
Assets write and read the caches through the stores' public methods (`caches()`, `iam_cache()`,
`config_cache()`); no client of Redis, S3 or DynamoDB is handed out here."""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from .aws.sessions import AwsSessions
from .datasets import STORAGE
from .settings import Settings, load_settings
from .stores.caches import ConsoleMeCaches
from .stores.config_cache import ConfigCacheStore
from .stores.connect import RedisUnreachable, check_redis, open_caches
from .stores.iam_cache import IamCache

__all__ = ["ConsoleMeResource", "RedisUnreachable", "check_redis"]


class ConsoleMeResource(dg.ConfigurableResource):
    """Settings from `config_file` (default: $CONSOLEME_ASSETS_CONFIG, else the shipped default)."""

    config_file: str | None = None

    _settings: Settings | None = PrivateAttr(default=None)
    _sessions: AwsSessions | None = PrivateAttr(default=None)
    _caches: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_settings(self.config_file)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def sessions(self) -> AwsSessions:
        if self._sessions is None:
            self._sessions = AwsSessions(self.settings)
        return self._sessions

    def caches(self) -> ConsoleMeCaches:
        """One per resource instance (per run), so S3 files read for hydration are read once."""
        if self._caches is None:
            self._caches = open_caches(self.settings, self.sessions, storage=STORAGE)
        return self._caches

    def iam_cache(self) -> IamCache:
        """IAM_ROLE/USER/GROUP/POLICY_CACHE, consoleme_iamroles_global and the IAM S3 files. A new one per call:
        it holds a per-call scan of the DynamoDB role table (replica hydration)."""
        return IamCache(self.caches())

    def config_cache(self) -> ConfigCacheStore:
        """AWSCONFIG_RESOURCE_CACHE and its S3 files and DynamoDB table."""
        return ConfigCacheStore(self.caches())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._caches is not None:
            self._caches.close()
