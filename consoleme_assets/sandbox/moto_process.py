"""Run moto's HTTP server in this process (``python -m consoleme_assets.sandbox.moto_process``).

Before serving, four small patches make moto fit the sandbox:

* Organizations ``CreateAccount`` derives the new account id from the account's email, so a seeded
  organisation has the same ids on every run (moto draws them at random).
* ``/moto-api/reset`` also forgets which organisation each member account belonged to; moto keeps that
  map outside its backends, so it would otherwise survive a reset.
* AWS Config's ``SelectResourceConfig`` answers with the buckets, queues, topics and roles moto holds in
  the account and region (moto answers nothing unless results are planted in its own process).
* Only a handful of AWS-managed IAM policies are loaded per account. Moto either loads none (then
  attaching ``arn:aws:iam::aws:policy/ReadOnlyAccess`` fails) or all ~1,600, which costs about a
  second per account and makes every reset slow. ``--aws-managed-policies all`` restores the full set.

The server stops on SIGTERM/SIGINT, and on its own when ``--parent-pid`` is given and that process dies,
so a killed test run does not leave a moto behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import threading
from functools import lru_cache
from typing import Any

# moto's default account (the sandbox hub); a derived member id must never equal it.
DEFAULT_ACCOUNT_ID = "123456789012"

# AWS-managed policies available in every sandbox account (names as in moto's bundled data).
DEMO_AWS_MANAGED_POLICIES = (
    "AdministratorAccess",
    "ReadOnlyAccess",
    "ViewOnlyAccess",
    "SecurityAudit",
    "PowerUserAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonSQSFullAccess",
    "AWSLambdaBasicExecutionRole",
)


def account_id_for_email(email: str, taken: frozenset[str] | set[str] = frozenset()) -> str:
    """Deterministic 12-digit account id for ``email`` (case-insensitive).

    The first 12 digits of the sha256 of the email read as an integer; on a clash with the default
    account or an id in ``taken`` a counter is appended to the hashed text until the id is free.
    """
    base = email.strip().lower()
    counter = 0
    while True:
        text = base if counter == 0 else f"{base}#{counter}"
        candidate = str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:12].zfill(12)
        if candidate != DEFAULT_ACCOUNT_ID and candidate not in taken:
            return candidate
        counter += 1


def _patch_organizations() -> None:
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.organizations import models, utils

    if getattr(models.OrganizationsBackend.create_account, "_consoleme_sandbox", False):
        return  # already patched in this process

    # FakeAccount.__init__ draws the id (and creates OrganizationAccountAccessRole in that account)
    # before create_account sees it, so the email travels to the id generator through a thread-local.
    pending = threading.local()
    random_account_id = utils.make_random_account_id
    create_account = models.OrganizationsBackend.create_account
    reset = MotoAPIBackend.reset

    def make_account_id() -> str:
        email = getattr(pending, "email", None)
        if email is None:  # e.g. the throwaway FakeAccount create_organization builds for the master
            return random_account_id()
        return account_id_for_email(email, pending.taken)

    def create_account_deterministic(self: Any, **kwargs: Any) -> dict[str, Any]:
        pending.email = kwargs.get("Email")
        pending.taken = frozenset(account.id for account in self.accounts)
        try:
            return create_account(self, **kwargs)
        finally:
            pending.email = None

    def reset_including_org_membership(self: Any) -> None:
        reset(self)
        models.organizations_backends.master_accounts.clear()

    create_account_deterministic._consoleme_sandbox = True  # type: ignore[attr-defined]
    utils.make_random_account_id = make_account_id
    models.OrganizationsBackend.create_account = create_account_deterministic
    MotoAPIBackend.reset = reset_including_org_membership


def _patch_iam_managed_policies(mode: str) -> None:
    if mode == "all":
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        return
    if mode == "none":
        os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        return

    from moto.iam import models as iam_models

    @lru_cache(maxsize=1)
    def bundled_policies() -> dict[str, Any]:
        data = json.loads(iam_models.aws_managed_policies_data)
        return {name: data[name] for name in DEMO_AWS_MANAGED_POLICIES if name in data}

    def init_demo_aws_policies(self: Any) -> list[Any]:
        return [
            iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, body)
            for name, body in bundled_policies().items()
        ]

    iam_models.IAMBackend._init_aws_policies = init_demo_aws_policies


def config_items(account_id: str, region: str) -> list[dict[str, Any]]:
    """What AWS Config would have recorded in one account and region: its buckets (in their region), queues,
    topics and, in us-east-1, its IAM roles; in the shape `select *` returns."""
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    def item(resource_type: str, arn: str, resource_id: str, name: str, configuration: dict) -> dict[str, Any]:
        return {
            "version": "1.3",
            "accountId": account_id,
            "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2026-01-01T00:00:00.000Z",
            "arn": arn,
            "resourceType": resource_type,
            "resourceId": resource_id,
            "resourceName": name,
            "awsRegion": region,
            "availabilityZone": "Regional" if resource_type != "AWS::IAM::Role" else "Not Applicable",
            "tags": [],
            "configuration": configuration,
            "supplementaryConfiguration": {},
            "relationships": [],
        }

    items = []
    for bucket in s3_backends[account_id]["global"].buckets.values():
        if bucket.region_name == region:
            items.append(item("AWS::S3::Bucket", bucket.arn, bucket.name, bucket.name, {"name": bucket.name}))
    for queue in sqs_backends[account_id][region].queues.values():
        url = f"https://sqs.{region}.amazonaws.com/{account_id}/{queue.name}"
        items.append(item("AWS::SQS::Queue", queue.queue_arn, url, queue.name, {"QueueName": queue.name}))
    for topic in sns_backends[account_id][region].topics.values():
        items.append(item("AWS::SNS::Topic", topic.arn, topic.arn, topic.name, {"TopicName": topic.name}))
    if region == "us-east-1":
        for role in iam_backends[account_id]["global"].roles.values():
            items.append(item("AWS::IAM::Role", role.arn, role.id, role.name, {"roleName": role.name}))
    return items


def _patch_config_select() -> None:
    """SelectResourceConfig answers from the resources moto holds (moto returns nothing unless results are
    planted in-process), so the sandbox's aws_config_resources has data. Planted results still win."""
    from moto.config import models as config_models

    select = config_models.ConfigBackend.select_resource_config
    if getattr(select, "_consoleme_sandbox", False):
        return

    def select_from_inventory(
        self: Any, expression: str, limit: int | None = None, next_token: str | None = None
    ) -> Any:
        if expression in self._expression_results or self.query_results_queue:
            return select(self, expression, limit, next_token)
        rows = [json.dumps(row) for row in config_items(self.account_id, self.region_name)]  # AWS sends text
        return rows, {"SelectFields": [{"Name": "*"}]}, None

    select_from_inventory._consoleme_sandbox = True  # type: ignore[attr-defined]
    config_models.ConfigBackend.select_resource_config = select_from_inventory


class StateSnapshots:
    """Named copies of everything moto holds (``POST /moto-api/consoleme/snapshot/<name>`` and
    ``.../restore/<name>``): a test suite seeds the demo organisation once and restores it per test in a
    fraction of a second, instead of re-creating it over HTTP (seconds of CPU on both sides) each time.
    moto has no such API; its state is the per-service BackendDicts (with their own attributes, such as S3's
    bucket-to-account map) plus the organisation membership map kept outside them, so one pickle of those (one
    pickle keeps the references between services) is a snapshot. A pickle, not a deep copy kept in memory: a
    reset disposes every S3 key object moto ever made, live or not, closing its buffer."""

    _OWN = frozenset({"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"})

    def __init__(self) -> None:
        self._saved: dict[str, tuple[list[Any], bytes]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _members() -> dict[str, Any]:
        from moto.organizations import models as org_models

        return org_models.organizations_backends.master_accounts

    def snapshot(self, name: str) -> None:
        import pickle

        from moto.core.base_backend import BackendDict

        _register_lock_reducers()
        with self._lock:
            dicts = list(BackendDict._instances)
            state = (
                [(dict(d), {k: v for k, v in vars(d).items() if k not in self._OWN}) for d in dicts],
                dict(self._members()),
            )
            self._saved[name] = (dicts, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))

    def restore(self, name: str) -> None:
        import pickle

        from moto.core.base_backend import BackendDict
        from moto.moto_api._internal.models import moto_api_backend

        with self._lock:
            if name not in self._saved:
                raise KeyError(name)
            dicts, saved = self._saved[name]
            moto_api_backend.reset()  # what /moto-api/reset does (with the organisation patch above)
            contents, members = pickle.loads(saved)
            for backend_dict, (content, attributes) in zip(dicts, contents, strict=True):
                dict.update(backend_dict, content)
                vars(backend_dict).update(attributes)
                if backend_dict not in BackendDict._instances:
                    BackendDict._instances.append(backend_dict)
            self._members().update(members)

    def wsgi(self, app: Any) -> Any:
        prefix = "/moto-api/consoleme/"

        def middleware(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if not path.startswith(prefix) or environ.get("REQUEST_METHOD") != "POST":
                return app(environ, start_response)
            action, _, name = path[len(prefix) :].partition("/")
            try:
                if action == "snapshot" and name:
                    self.snapshot(name)
                elif action == "restore" and name:
                    self.restore(name)
                else:
                    start_response("404 Not Found", [("Content-Type", "text/plain")])
                    return [f"unknown: {path}".encode()]
            except KeyError:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [f"no snapshot named {name!r}".encode()]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        return middleware


def _register_lock_reducers() -> None:
    """Locks cannot be pickled; an unpickled object gets a new, released lock of the same kind."""
    import _thread
    import copyreg

    copyreg.pickle(_thread.LockType, lambda _: (_thread.allocate_lock, ()))
    copyreg.pickle(_thread.RLock, lambda _: (_thread.RLock, ()))


def install_patches(aws_managed_policies: str = "demo") -> None:
    """Apply the sandbox patches to moto in this process (idempotent)."""
    _patch_organizations()
    _patch_iam_managed_policies(aws_managed_policies)
    _patch_config_select()


def serve(
    host: str,
    port: int,
    *,
    parent_pid: int | None = None,
    aws_managed_policies: str = "demo",
    verbose: bool = False,
) -> None:
    """Serve moto on host:port until SIGTERM/SIGINT (or the parent process dies)."""
    # MOTO_ACCOUNT_ID would pin every request to one account and break assumed-role routing.
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    os.environ["MOTO_PORT"] = str(port)  # moto builds some self-referencing URLs from it
    install_patches(aws_managed_policies)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # werkzeug logs every request at INFO; keep the log to errors unless asked.
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)

    # Bind here, in the main thread, so a taken port fails the process at once with a clear message.
    server = make_server(
        host,
        port,
        StateSnapshots().wsgi(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    thread = threading.Thread(target=server.serve_forever, name="moto-http", daemon=True)
    thread.start()
    print(f"moto listening on http://{host}:{server.port} (pid {os.getpid()})", flush=True)
    while not stop.wait(1.0):
        if parent_pid is not None and os.getppid() != parent_pid:
            print(f"parent process {parent_pid} is gone; stopping moto", flush=True)
            break
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consoleme_assets.sandbox.moto_process",
        description="moto server with deterministic Organizations account ids",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    parser.add_argument(
        "--aws-managed-policies",
        choices=("demo", "all", "none"),
        default="demo",
        help="which AWS-managed IAM policies each account has (default: a small demo set)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        serve(
            args.host,
            args.port,
            parent_pid=args.parent_pid,
            aws_managed_policies=args.aws_managed_policies,
            verbose=args.verbose,
        )
    except OSError as exc:
        print(f"moto could not listen on {args.host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
