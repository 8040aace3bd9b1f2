"""A fault-injecting HTTP proxy between the code under test and moto.

The code sees the proxy as its AWS endpoint (AWS_ENDPOINT_URL), so an injected fault travels through
botocore's real parsing and retry path. Each request is identified as (service, action, account, region,
method): service, region and access key come from the SigV4 Authorization header, the action from
X-Amz-Target (JSON protocols), `Action=` (query protocols) or the S3 method and path. Moto files an
assumed-role access key under the role's account; the proxy learns the same mapping by reading the
AssumeRole answers that pass through it. Every call is logged (`calls`), faults are added per test
(`inject`) and removed with `clear`.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

HUB_ACCOUNT = "123456789012"  # moto's account for any key it did not hand out itself
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
FaultKind = Literal["throttle", "access_denied", "server_error"]


@dataclass(frozen=True)
class Call:
    service: str
    action: str
    account: str
    region: str
    method: str
    params: dict[str, str] = field(default_factory=dict, compare=False)  # query-protocol parameters
    principal: str = "hub"  # the assumed role's name, or "hub" for our own credentials
    resources: tuple[str, ...] = ()  # the S3 bucket, or the DynamoDB tables, a call touches
    faulted: str | None = None  # the error code answered instead of moto's

    @property
    def iam_action(self) -> str:
        """`service:Action` as an IAM policy names it."""
        prefix = {"monitoring": "cloudwatch", "email": "ses"}.get(self.service, self.service)
        # The few API operations whose IAM action has another name.
        action = {
            ("s3", "ListBuckets"): "ListAllMyBuckets",
            ("s3", "ListObjects"): "ListBucket",
            ("s3", "HeadObject"): "GetObject",
        }.get((self.service, self.action), self.action)
        return f"{prefix}:{action}"


@dataclass
class Fault:
    """Answer `fraction` of the matching calls (at most `limit`) with `kind` instead of forwarding them."""

    kind: FaultKind
    fraction: float = 1.0
    service: str | None = None
    action: str | None = None
    account: str | None = None
    region: str | None = None
    method: str | None = None
    params: dict[str, str] | None = None  # e.g. {"RoleArn": ...} for one account's AssumeRole
    limit: int | None = None
    hits: int = 0

    def matches(self, call: Call) -> bool:
        return all(
            want is None or want == got
            for want, got in (
                (self.service, call.service),
                (self.action, call.action),
                (self.account, call.account),
                (self.region, call.region),
                (self.method, call.method),
            )
        ) and all(call.params.get(k) == v for k, v in (self.params or {}).items())


def s3_action(method: str, path: str, query: str) -> str:
    """The S3 operation of a path-style request (enough of the REST API for what the code calls)."""
    parts = [p for p in path.split("/") if p]
    q = parse_qs(query, keep_blank_values=True)
    if not parts:
        return "ListBuckets" if method == "GET" else f"{method}Service"
    if len(parts) == 1:  # bucket level
        sub = next((k for k in ("location", "policy", "tagging", "acl", "versioning", "list-type") if k in q), None)
        if method == "GET":
            return {
                "location": "GetBucketLocation",
                "policy": "GetBucketPolicy",
                "tagging": "GetBucketTagging",
                "acl": "GetBucketAcl",
                "versioning": "GetBucketVersioning",
            }.get(sub or "", "ListObjects")
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, method)
    return {
        "GET": "GetObject",
        "PUT": "PutObject",
        "DELETE": "DeleteObject",
        "HEAD": "HeadObject",
        "POST": "PostObject",
    }.get(method, method)


def _error_body(protocol: str, code: str, message: str) -> tuple[str, bytes]:
    rid = str(uuid.uuid4())
    if protocol == "json":
        return "application/x-amz-json-1.1", f'{{"__type": "{code}", "message": "{message}"}}'.encode()
    if protocol == "rest-xml":
        return "application/xml", (
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId></Error>"
        ).encode()
    return "text/xml", (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()


def fault_answer(kind: FaultKind, protocol: str, call: Call) -> tuple[int, str, str, bytes]:
    """(status, error code, content type, body) in the protocol's own error shape."""
    if kind == "throttle":
        status, code = (
            (503, "SlowDown")
            if protocol == "rest-xml"
            else ((400, "ThrottlingException") if protocol == "json" else (400, "Throttling"))
        )
        message = "Rate exceeded (injected)"
    elif kind == "access_denied":
        status, code = 403, "AccessDeniedException" if protocol == "json" else "AccessDenied"
        message = f"User is not authorized to perform: {call.iam_action} (injected)"
    else:
        status, code, message = 503, "ServiceUnavailable", "Service is unavailable (injected)"
        if protocol == "rest-xml":
            status, code = 500, "InternalError"
    ctype, body = _error_body(protocol, code, message)
    return status, code, ctype, body


class FaultProxy:
    """`with FaultProxy(moto_url) as proxy:` serves on `proxy.url` until the block ends."""

    def __init__(self, upstream: str, seed: int = 6):
        target = urlsplit(upstream)
        self.upstream_host, self.upstream_port = target.hostname, target.port
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.external_ids: dict[str, str | None] = {}  # RoleArn -> ExternalId of its last AssumeRole
        self.key_accounts: dict[str, tuple[str, str]] = {}  # access key -> (account, role), from AssumeRole
        # action, or (action, account) to touch one account only -> fn applied to moto's 200 answer:
        # `rewrites` fn(bytes) -> bytes; `call_rewrites` fn(call, bytes) -> bytes (e.g. to page by Marker).
        self.rewrites: dict[str | tuple[str, str], object] = {}
        self.call_rewrites: dict[str | tuple[str, str], object] = {}
        self.secrets_seen: set[str] = set()  # secret keys and tokens moto handed out (for leak checks)
        self._rng = random.Random(seed)  # seeded: the same calls fail on every run of a test
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls ---------------------------------------------------------------------------

    def inject(self, kind: FaultKind, **match: object) -> Fault:
        fault = Fault(kind, **match)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    @contextmanager
    def injecting(self, kind: FaultKind, **match: object) -> Iterator[Fault]:
        fault = self.inject(kind, **match)
        try:
            yield fault
        finally:
            with self._lock:
                self.faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()

    def actions(self, faulted: bool = False) -> set[tuple[str, str]]:
        """(account, `service:Action`) of every call that reached moto (or was faulted, if asked)."""
        with self._lock:
            return {(c.account, c.iam_action) for c in self.calls if (c.faulted is not None) == faulted}

    # -- request handling ------------------------------------------------------------------------

    def _identify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[Call, str]:
        auth = _CREDENTIAL.search(headers.get("authorization", ""))
        key, region, service = auth.groups() if auth else ("", "", "unknown")
        split = urlsplit(path)
        params: dict[str, str] = {}
        target = headers.get("x-amz-target")
        resources: tuple[str, ...] = ()
        if target:
            protocol, action = "json", target.rsplit(".", 1)[-1]
            try:
                doc = json.loads(body or b"{}")
                resources = tuple(doc.get("RequestItems", {})) or ((doc["TableName"],) if "TableName" in doc else ())
                if not resources and isinstance(doc.get("QueueUrl"), str):  # SQS (JSON protocol): the queue name
                    resources = (doc["QueueUrl"].rstrip("/").rsplit("/", 1)[-1],)
            except (ValueError, AttributeError, TypeError):
                pass
        elif service == "s3":
            protocol, action = "rest-xml", s3_action(method, split.path, split.query)
            resources = tuple(p for p in split.path.split("/")[1:2] if p)
        else:
            form = parse_qs(split.query) | parse_qs(body.decode("utf-8", "replace"))
            params = {k: v[0] for k, v in form.items()}
            protocol, action = "query", params.get("Action", f"{method}?")
        with self._lock:
            account, principal = self.key_accounts.get(key, (HUB_ACCOUNT, "hub"))
        return Call(service, action, account, region, method, params, principal, resources), protocol

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                call, protocol = proxy._identify(self.command, self.path, headers, body)
                fault = proxy._pick_fault(call)
                if fault is not None:
                    status, code, ctype, payload = fault_answer(fault.kind, protocol, call)
                    proxy._log(Call(**{**call.__dict__, "faulted": code}))
                    self._answer(status, {"Content-Type": ctype}, payload)
                    return
                if call.action == "AssumeRole":
                    with proxy._lock:
                        proxy.external_ids[call.params.get("RoleArn", "")] = call.params.get("ExternalId")
                status, out_headers, payload = proxy._forward(self.command, self.path, self.headers, body)
                if call.action == "AssumeRole" and status == 200:
                    proxy._learn_key(call.params.get("RoleArn", ""), payload)
                if status == 200:
                    payload = proxy._rewrite(call, payload)
                proxy._log(call)
                self._answer(status, out_headers, payload)

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve

        return Handler

    def _rewrite(self, call: Call, payload: bytes) -> bytes:
        rewrite = self.rewrites.get((call.action, call.account)) or self.rewrites.get(call.action)
        if rewrite is not None:
            payload = rewrite(payload)  # type: ignore[operator]
        with_call = self.call_rewrites.get((call.action, call.account)) or self.call_rewrites.get(call.action)
        return payload if with_call is None else with_call(call, payload)  # type: ignore[operator]

    def _pick_fault(self, call: Call) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(call) and (fault.limit is None or fault.hits < fault.limit):
                    if self._rng.random() < fault.fraction:
                        fault.hits += 1
                        return fault
        return None

    def _log(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _learn_key(self, role_arn: str, payload: bytes) -> None:
        found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", payload)
        parts = role_arn.split(":")
        with self._lock:
            for tag in (rb"SecretAccessKey", rb"SessionToken"):
                secret = re.search(rb"<" + tag + rb">([^<]+)</" + tag + rb">", payload)
                if secret:
                    self.secrets_seen.add(secret.group(1).decode())
            if found and len(parts) > 5:
                self.key_accounts[found.group(1).decode()] = (parts[4], parts[5].rsplit("/", 1)[-1])

    def _forward(self, method: str, path: str, headers: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            out = {k: v for k, v in headers.items() if k.lower() not in ("connection", "proxy-connection")}  # type: ignore[attr-defined]
            conn.request(method, path, body=body or None, headers=out)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()
