"""REDIS_URL helpers without Dagster: redaction for output, and a load-time check of its query options.

redis-py's ``from_url`` passes every ``?name=value`` of the URL to the connection class: the TLS options
(``ssl_ca_certs``, ``ssl_cert_reqs``, ``ssl_check_hostname``, ``ssl_certfile``/``ssl_keyfile`` for client
certificates, ``ssl_password``...) as well as ``password``. A misspelt name would only fail at the first
connection, as a bare TypeError; :func:`redis_url_problem` reports it when the settings load instead.
"""

from __future__ import annotations

import inspect
from difflib import get_close_matches
from urllib.parse import parse_qsl, unquote, urlsplit

# Query options whose value is a secret (redis-py accepts `password` and `ssl_password` there).
_SECRET_WORDS = ("password", "secret", "token")


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def redact_url(url: str) -> str:
    """The URL without its secrets, for messages and metadata: the password of the user part (or the whole
    user part when it has no ``:``, as ``redis://s3cret@host`` is a password written without its colon) and
    the value of any query option named like a password, secret or token."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<unparseable Redis URL>"
    # The user part by hand, not urlsplit's netloc: an unencoded '#' or '?' in a password would end the netloc
    # early and leave the password in "the path". It ends at the last '@' before the path.
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    rest = hostport + slash + path
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:***@" if colon else "***@"
    body, qmark, query = rest.partition("?")
    query, hashmark, fragment = query.partition("#")
    if query:
        kept = []
        for item in query.split("&"):
            name, eq, _value = item.partition("=")
            kept.append(f"{name}=***" if eq and _is_secret(unquote(name)) else item)
        query = "&".join(kept)
    return f"{scheme}://{userinfo}{body}{qmark}{query}{hashmark}{fragment}"


def _accepted_options(scheme: str) -> set[str]:
    """The keyword arguments redis-py's pool and connection class take for this scheme."""
    from redis.connection import (
        AbstractConnection,
        Connection,
        ConnectionPool,
        SSLConnection,
        UnixDomainSocketConnection,
    )

    connection = {"rediss": SSLConnection, "unix": UnixDomainSocketConnection}.get(scheme, Connection)
    names: set[str] = set()
    for cls in (ConnectionPool, *[c for c in connection.__mro__ if issubclass(c, AbstractConnection)]):
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) and param.name != "self":
                names.add(param.name)
    return names


def redis_url_problem(url: str) -> str | None:
    """Why redis-py would reject this URL's options at the first connection, or None. Never echoes a secret."""
    from redis.connection import parse_url

    scheme = urlsplit(url).scheme
    try:
        parse_url(url)  # bad scheme, or a value of the wrong type (db=x, ssl_check_hostname=maybe)
    except ValueError as exc:
        return str(exc)
    names = [name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    accepted = _accepted_options(scheme)
    unknown = sorted({n for n in names if n not in accepted})
    if not unknown:
        return None
    tls_only = [n for n in unknown if n.startswith("ssl_") and n in _accepted_options("rediss")]
    if tls_only and scheme != "rediss":
        return f"option(s) {', '.join(tls_only)} need a rediss:// URL (TLS), not {scheme}://"
    guesses = {n: get_close_matches(n, sorted(accepted), n=1) for n in unknown}
    named = ", ".join(f"{n} (did you mean {g[0]}?)" if g else n for n, g in guesses.items())
    return f"unknown query option(s) {named}: redis-py would reject them when connecting"
