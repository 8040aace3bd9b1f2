"""Sessions for the hub (our own credentials) and for each account (the spoke role, assumed through STS).

Assumed credentials refresh themselves shortly before they expire (botocore's RefreshableCredentials),
so one factory can serve a long run. Clients retry with botocore's mode named by
`consoleme_assets.aws_retry_mode`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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


class AwsSessions:
    """Hands out boto3 sessions and clients per account. Thread-safe; share one per run."""

    def __init__(self, settings: Settings, hub_session: boto3.Session | None = None):
        self.settings = settings
        self._hub = hub_session or boto3.Session(region_name=settings.region)
        self._lock = threading.Lock()
        self._sessions: dict[_SessionKey, boto3.Session] = {}
        self._assume_locks: dict[_SessionKey, threading.Lock] = {}
        self._session_locks: dict[int, threading.Lock] = {}
        # Least recently used first. Bounded so memory stays flat in the number of accounts: a client holds its
        # own service model objects (~270 KB), and an account's clients are not needed once it is done.
        self._clients: OrderedDict[tuple, Any] = OrderedDict()
        self.max_cached_clients = max(64, settings.tuning.max_concurrent_accounts * 16)
        self._warmed: set[str] = set()
        self._warm_lock = threading.Lock()
        self._loader = self._hub._session.get_component("data_loader")
        self.config = Config(
            retries={"mode": settings.tuning.aws_retry_mode, "total_max_attempts": settings.tuning.aws_max_attempts},
            max_pool_connections=max(10, settings.tuning.max_concurrent_accounts * 2),
            user_agent_extra="consoleme-assets",
        )

    # -- sessions --------------------------------------------------------------------------------

    @property
    def hub(self) -> boto3.Session:
        """Our own credentials: used for S3/DynamoDB writes and as the source for AssumeRole."""
        return self._hub

    def for_account(
        self,
        account_id: str,
        role_name: str | None = None,
        session_name: str | None = None,
    ) -> boto3.Session:
        """A session in `account_id` through `role_name` (default: the spoke role, `policies.role_name`).

        Without a spoke role configured this is the hub session (single-account installs, as ConsoleMe).
        """
        role = role_name or self.settings.spoke_role_name
        if not role:
            return self._hub
        key = _SessionKey(
            account_id,
            role,
            session_name or self.settings.tuning.role_session_name,
            self.settings.tuning.spoke_role_external_id,
        )
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                return session
            key_lock = self._assume_locks.setdefault(key, threading.Lock())
        with key_lock:  # one AssumeRole per account, accounts in parallel
            with self._lock:
                session = self._sessions.get(key)
            if session is None:
                session = self._assume(key)
                with self._lock:
                    self._sessions[key] = session
            return session

    def _sts(self) -> Any:
        return self.client("sts")  # the hub's, cached; clients are thread-safe

    def _assume(self, key: _SessionKey) -> boto3.Session:
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
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        return self.session_on(credentials)

    def session_on(self, credentials: Any) -> boto3.Session:
        """A new boto3 session on `credentials` that shares the hub's service-model loader.

        Without the shared loader every account re-reads the service models from disk per client.
        """
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        core._credentials = credentials  # the documented way to hand botocore refreshable credentials
        core.set_config_variable("region", self.settings.region)
        with self._lock:
            paths = list(self._loader.search_paths)
            session = boto3.Session(botocore_session=core)
            # boto3 appends its data folder to the loader per session: with a shared loader the search path
            # would grow by one entry per account, and every uncached model lookup walks all of them.
            self._loader.search_paths[:] = paths + [
                p for p in self._loader.search_paths[len(paths) :] if p not in paths
            ]
        return session

    def warm(self, service: str) -> None:
        """Load `service`'s models into the shared loader once, before accounts build clients in parallel.

        The loader's cache is not locked: N threads making their first client of a service at once
        would each read and parse the same model files (measured: 80 misses, 9.6 s of CPU at N=6).
        """
        if service in self._warmed:
            return
        with self._warm_lock:
            if service not in self._warmed:
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
        cache_key = (service, account_id, region, role_name, session_name)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is not None:
                self._clients.move_to_end(cache_key)
        if client is not None:
            return client
        self.warm(service)
        session = self._hub if account_id is None else self.for_account(account_id, role_name, session_name)
        endpoint = self.settings.endpoint_url
        if service == "dynamodb":
            endpoint = self.settings.effective_dynamodb_endpoint
        elif service == "sts":
            endpoint = self.settings.sts_endpoint() or endpoint
        with self._lock:
            session_lock = self._session_locks.setdefault(id(session), threading.Lock())
        with session_lock:  # a boto3 session is not thread-safe while creating clients; accounts build in parallel
            with self._lock:
                client = self._clients.get(cache_key)
            if client is None:
                client = session.client(service, region_name=region, endpoint_url=endpoint, config=self.config)
                with self._lock:
                    self._clients[cache_key] = client
                    while len(self._clients) > self.max_cached_clients:
                        self._clients.popitem(last=False)  # a thread still using it keeps its reference
        return client
