"""A throwaway PKI and a TLS-only, password-protected redis-server, for the rediss:// tests.

Certificates are made at test time with ``cryptography`` (already installed: moto depends on it). The server
is Debian's ``redis-server`` with ``port 0`` (no plaintext listener) and ``tls-port`` on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consoleme_assets.sandbox.processes import (
    LOOPBACK,
    ChildServer,
    ServerStartError,
    wait_until_ready,
    with_port_retries,
)
from consoleme_assets.sandbox.servers import quote_redis_conf


class TlsUnsupported(RuntimeError):
    """This redis-server was built without TLS."""


@dataclass
class Issued:
    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return Issued(cert_path, key_path)


class TestCA:
    """A self-signed CA that issues server and client certificates into `directory`."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "consoleme-assets test CA"):
        self.directory = directory
        self.name = name
        self._key = _key()
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._subject = subject
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        slug = name.replace(" ", "-")
        self.cert_path = _write(directory, slug, self._cert, self._key).cert

    def issue(self, name: str, *, server: bool) -> Issued:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
                ),
                critical=False,
            )
        return _write(self.directory, name, builder.sign(self._key, hashes.SHA256()), key)


class TlsRedis:
    """redis-server listening only with TLS on 127.0.0.1:`port`, requiring `password`."""

    def __init__(
        self, child: ChildServer, workdir: tempfile.TemporaryDirectory[str], port: int, password: str, ca: TestCA
    ):
        self._child, self._workdir = child, workdir
        self.port, self.password, self.ca = port, password, ca

    def url(self, host: str = LOOPBACK, **query: str) -> str:
        """A rediss:// URL with the password; `query` becomes redis-py options (ssl_ca_certs=...)."""
        qs = f"?{urllib.parse.urlencode(query, safe='/')}" if query else ""  # paths as users write them
        return f"rediss://:{urllib.parse.quote(self.password, safe='')}@{host}:{self.port}/0{qs}"

    def client(self, **kwargs) -> redis.Redis:
        """A client that trusts the server's CA (decode_responses unless told otherwise)."""
        kwargs.setdefault("decode_responses", True)
        return redis.Redis(
            host=LOOPBACK,
            port=self.port,
            password=self.password,
            ssl=True,
            ssl_ca_certs=str(self.ca.cert_path),
            socket_timeout=5,
            **kwargs,
        )

    def stop(self) -> None:
        self._child.stop()
        self._workdir.cleanup()

    def __enter__(self) -> TlsRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_tls_redis(
    ca: TestCA, password: str, *, require_client_certs: bool = False, timeout: float = 15.0
) -> TlsRedis:
    """Start redis-server with TLS only (certificate issued by `ca`); raises TlsUnsupported when this
    redis-server was built without TLS."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerStartError("redis-server is not on PATH (Debian/Ubuntu: apt-get install redis-server)")
    server_cert = ca.issue("redis-server", server=True)
    client_cert = {}
    if require_client_certs:  # the readiness probe presents one
        issued = ca.issue("probe-client", server=False)
        client_cert = {"ssl_certfile": str(issued.cert), "ssl_keyfile": str(issued.key)}

    def start(port: int) -> TlsRedis:
        workdir = tempfile.TemporaryDirectory(prefix="consoleme-redis-tls-")
        conf = Path(workdir.name) / "redis.conf"
        q = quote_redis_conf
        lines = [
            "port 0",
            f"tls-port {port}",
            f"bind {LOOPBACK}",
            'save ""',
            "appendonly no",
            f"dir {q(workdir.name)}",
            "daemonize no",
            'logfile ""',
            f"tls-cert-file {q(str(server_cert.cert))}",
            f"tls-key-file {q(str(server_cert.key))}",
            f"tls-ca-cert-file {q(str(ca.cert_path))}",
            f"tls-auth-clients {'yes' if require_client_certs else 'no'}",
            f"requirepass {q(password)}",
        ]
        conf.write_text("\n".join(lines) + "\n")  # the password stays out of `ps`
        conf.chmod(0o600)
        child = ChildServer("redis-server", [binary, str(conf)], Path(workdir.name))
        server = TlsRedis(child, workdir, port, password, ca)

        def pings() -> bool:
            try:
                probe = server.client(socket_connect_timeout=0.5, retry=None, **client_cert)
                try:
                    return bool(probe.ping())
                finally:
                    probe.close()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                return False

        try:
            wait_until_ready(child, pings, timeout, f"redis-server ({binary}) with TLS on {LOOPBACK}:{port}")
        except ServerStartError as exc:
            child.stop()
            workdir.cleanup()
            if "TLS" in str(exc) and (
                "not supported" in str(exc) or "not compiled" in str(exc) or "Bad directive" in str(exc)
            ):
                raise TlsUnsupported(str(exc)) from None
            raise
        except BaseException:
            child.stop()
            workdir.cleanup()
            raise
        return server

    return with_port_retries(None, start)
