"""Sessions for the hub (our own credentials) and for each account (the spoke role, assumed through STS).

Assumed credentials refresh themselves shortly before they expire (botocore's RefreshableCredentials),
so one factory can serve a long run. Clients retry with botocore's mode named by
`consoleme_assets.aws_retry_mode`.

Memory is flat in the number of accounts: every account's clients come from ONE shared botocore session
(a session costs ~137 KB, mostly its event-handler registry), each client signing with its account's
credentials; clients and credentials are kept in bounded LRUs.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, DataNotFoundError

from ..settings import Settings


class AccountAccessError(RuntimeError):
    """An account could not be reached (assume-role refused, no credentials, ...)."""

    def __init__(self, account_id: str, message: str):
        super().__init__(f"account {account_id}: {message}")
        self.account_id = account_id


def describe_aws_error(exc: BaseException) -> str:
    """A short, secret-free description of an AWS error: the error code and AWS's message."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "") or ""
        return f"{op + ': ' if op else ''}{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class _SessionKey:
    account_id: str
    role_name: str
    session_name: str
    external_id: str | None


class _CredentialsSession(botocore.session.Session):
    """A botocore session that signs only with credentials we hand it, never with ones it finds itself.

    `create_client` without explicit keys takes the session's credentials from `get_credentials()` (both public),
    so overriding that one method lets many accounts' clients come from one session while each client keeps its
    account's RefreshableCredentials object, refreshing itself before expiry on every request as before. Explicit
    keys (`aws_access_key_id=...`) would freeze them: a client held past expiry (an organization walk) would fail.
    """

    def __init__(self, credentials: Any = None):
        super().__init__()
        self._fixed = credentials
        self._lent = threading.local()

    def get_credentials(self) -> Any:
        # Fail closed: no fallback to the environment's or the instance's credentials, so a client made here
        # without an account's credentials cannot sign as the hub.
        lent = getattr(self._lent, "credentials", None)
        return lent if lent is not None else self._fixed

    @contextlib.contextmanager
    def lending(self, credentials: Any) -> Iterator[None]:
        """Clients created on this thread inside the block sign with `credentials` (thread-local: a concurrent
        caller on another thread never sees them)."""
        self._lent.credentials = credentials
        try:
            yield
        finally:
            self._lent.credentials = None


# One service-model loader per process, shared by every AwsSessions: a new botocore session otherwise reads and
# parses endpoints.json and each service's models again (about 0.2 s of CPU per resource initialised, every step
# of an in-process run and every sensor tick that opens the caches). Botocore's loader is not thread-safe, so
# client creation, and the loader's search path, are serialised by this one lock.
_LOADER_LOCK = threading.RLock()
_process_loader: Any = None


def _sharing_loader(core: botocore.session.Session, loader: Any = None) -> boto3.Session:
    """`core` as a boto3 session whose models come from `loader` (default: the process's shared loader)."""
    global _process_loader
    with _LOADER_LOCK:
        if loader is None:
            if _process_loader is None:
                _process_loader = core.get_component("data_loader")
            loader = _process_loader
        core.register_component("data_loader", loader)
        paths = list(loader.search_paths)
        session = boto3.Session(botocore_session=core)
        # boto3 appends its data folder to the loader per session: with a shared loader the search path would
        # grow by one entry per session, and every uncached model lookup walks all of them.
        loader.search_paths[:] = paths + [p for p in loader.search_paths[len(paths) :] if p not in paths]
    return session


class AwsSessions:
    """Hands out clients (and, when asked, boto3 sessions) per account. Thread-safe; share one per run."""

    def __init__(self, settings: Settings, hub_session: boto3.Session | None = None):
        self.settings = settings
        if hub_session is None:
            hub_session = _sharing_loader(botocore.session.Session())
            hub_session._session.set_config_variable("region", settings.region)
        self._hub = hub_session
        self._lock = threading.Lock()  # guards the dicts below; never held across an AWS call
        # Serialises client creation: botocore sessions and the shared model loader are not thread-safe.
        self._create_lock = _LOADER_LOCK
        # Least recently used first. Bounded so memory stays flat in the number of accounts: a client holds its
        # own service model objects (~270 KB), and an account's clients are not needed once it is done.
        self._clients: OrderedDict[tuple, Any] = OrderedDict()
        self.max_cached_clients = max(64, settings.tuning.max_concurrent_accounts * 16)
        # Assumed-role credentials, least recently used first: one AssumeRole per account while it is being
        # worked on, without keeping every account's for the whole run. An evicted account assumes again.
        self._credentials: OrderedDict[_SessionKey, RefreshableCredentials] = OrderedDict()
        self.max_cached_credentials = max(256, settings.tuning.max_concurrent_accounts * 32)
        self._assume_locks: dict[_SessionKey, threading.Lock] = {}
        self._warmed: set[str] = set()
        self._warm_lock = threading.Lock()
        self._loader = self._hub._session.get_component("data_loader")
        self.config = Config(
            retries={"mode": settings.tuning.aws_retry_mode, "total_max_attempts": settings.tuning.aws_max_attempts},
            max_pool_connections=max(10, settings.tuning.max_concurrent_accounts * 2),
            user_agent_extra="consoleme-assets",
        )
        # The one session every account's clients are made from (see _CredentialsSession).
        self._accounts_core = _CredentialsSession()
        self._accounts = self._wrap(self._accounts_core)

    # -- sessions and credentials ----------------------------------------------------------------

    @property
    def hub(self) -> boto3.Session:
        """Our own credentials: used for S3/DynamoDB writes and as the source for AssumeRole."""
        return self._hub

    def _key(self, account_id: str, role_name: str | None, session_name: str | None) -> _SessionKey | None:
        """The assumed role `account_id` is read through, or None for the hub's own credentials."""
        role = role_name or self.settings.spoke_role_name
        if not role:
            return None
        return _SessionKey(
            account_id,
            role,
            session_name or self.settings.tuning.role_session_name,
            self.settings.tuning.spoke_role_external_id,
        )

    def credentials(self, account_id: str, role_name: str | None = None, session_name: str | None = None) -> Any:
        """The credentials for `account_id` through `role_name` (default: the spoke role): self-refreshing
        assumed-role credentials, or the hub's own when no spoke role is configured."""
        key = self._key(account_id, role_name, session_name)
        return self._hub.get_credentials() if key is None else self._assumed(key)

    def for_account(
        self,
        account_id: str,
        role_name: str | None = None,
        session_name: str | None = None,
    ) -> boto3.Session:
        """A session in `account_id` through `role_name` (default: the spoke role, `policies.role_name`).

        Without a spoke role configured this is the hub session (single-account installs, as ConsoleMe).
        Otherwise a new session each call (not kept: ~137 KB each) on the account's cached credentials;
        `client()` and `credentials()` need none.
        """
        key = self._key(account_id, role_name, session_name)
        if key is None:
            return self._hub
        return self.session_on(self._assumed(key))

    def _assumed(self, key: _SessionKey) -> RefreshableCredentials:
        with self._lock:
            credentials = self._credentials.get(key)
            if credentials is not None:
                self._credentials.move_to_end(key)
                return credentials
            key_lock = self._assume_locks.setdefault(key, threading.Lock())
        with key_lock:  # one AssumeRole per account, accounts in parallel
            with self._lock:
                credentials = self._credentials.get(key)
            try:
                if credentials is None:
                    credentials = self._assume(key)
                    with self._lock:
                        self._credentials[key] = credentials
                        while len(self._credentials) > self.max_cached_credentials:
                            self._credentials.popitem(last=False)  # clients made with them keep their reference
            finally:
                with self._lock:  # waiters already hold it; later callers find the credentials (or retry)
                    if self._assume_locks.get(key) is key_lock:
                        del self._assume_locks[key]
            return credentials

    def _sts(self) -> Any:
        return self.client("sts")  # the hub's, cached; clients are thread-safe

    def _assume(self, key: _SessionKey) -> RefreshableCredentials:
        role_arn = f"arn:aws:iam::{key.account_id}:role/{key.role_name}"
        sts = self._sts()

        def fetch() -> dict[str, str]:
            kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": key.session_name[:64]}
            if key.external_id:
                kwargs["ExternalId"] = key.external_id
            try:
                creds = sts.assume_role(**kwargs)["Credentials"]
            except (ClientError, BotoCoreError) as exc:
                raise AccountAccessError(
                    key.account_id, f"cannot assume {role_arn}: {describe_aws_error(exc)}"
                ) from None
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        # Fetch now so a refused role fails here, naming the account, not on the first API call.
        return RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )

    def session_on(self, credentials: Any) -> boto3.Session:
        """A new boto3 session on `credentials` that shares the hub's service-model loader.

        Without the shared loader every account re-reads the service models from disk per client.
        """
        return self._wrap(_CredentialsSession(credentials))

    def _wrap(self, core: botocore.session.Session) -> boto3.Session:
        core.set_config_variable("region", self.settings.region)
        return _sharing_loader(core, self._loader)

    def warm(self, service: str) -> None:
        """Load `service`'s models into the shared loader once, before accounts build clients in parallel.

        The loader's cache is not locked: N threads making their first client of a service at once
        would each read and parse the same model files (measured: 80 misses, 9.6 s of CPU at N=6).
        """
        if service in self._warmed:
            return
        with self._warm_lock:
            if service not in self._warmed:
                with self._create_lock:
                    client = self._hub.client(
                        service,
                        region_name=self.settings.region,
                        endpoint_url=self.settings.endpoint_url,
                        config=self.config,
                    )
                try:  # loaded by the first get_paginator of each client otherwise
                    self._loader.load_service_model(service, "paginators-1", client.meta.service_model.api_version)
                except DataNotFoundError:
                    pass
                self._warmed.add(service)

    # -- clients ---------------------------------------------------------------------------------

    def client(
        self,
        service: str,
        account_id: str | None = None,
        region: str | None = None,
        role_name: str | None = None,
        session_name: str | None = None,
    ) -> Any:
        """A cached client for `service` in `account_id` (None = the hub) and `region`."""
        region = region or self.settings.region
        key = None if account_id is None else self._key(account_id, role_name, session_name)
        # Keyed by the assumed role, not the arguments: without a spoke role every account shares the hub's.
        cache_key = (service, key, region)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is not None:
                self._clients.move_to_end(cache_key)
        if client is not None:
            return client
        self.warm(service)
        credentials = None if key is None else self._assumed(key)  # may call STS: outside the creation lock
        endpoint = self.settings.endpoint_url
        if service == "dynamodb":
            endpoint = self.settings.effective_dynamodb_endpoint
        elif service == "sts":
            endpoint = self.settings.sts_endpoint() or endpoint
        with self._create_lock:
            with self._lock:
                client = self._clients.get(cache_key)  # built by another thread meanwhile
            if client is None:
                if credentials is None:
                    client = self._hub.client(service, region_name=region, endpoint_url=endpoint, config=self.config)
                else:
                    with self._accounts_core.lending(credentials):
                        client = self._accounts.client(
                            service, region_name=region, endpoint_url=endpoint, config=self.config
                        )
                with self._lock:
                    self._clients[cache_key] = client
                    while len(self._clients) > self.max_cached_clients:
                        self._clients.popitem(last=False)  # a thread still using it keeps its reference
        return client
