"""Only `consoleme_assets/stores/` touches a Redis, DynamoDB or S3 client: everything else goes through the stores'
public methods. This walks the package's syntax trees and names file:line of every leak."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import consoleme_assets

PACKAGE = Path(consoleme_assets.__file__).parent
# stores/ owns the clients. sandbox/ builds the fake AWS and Redis the dev stack runs on (seeding buckets and
# tables is its job); production code never imports it.
EXEMPT_DIRS = {"stores", "sandbox"}

# The store layer's internals: outside stores/ only its public surface (ConsoleMeCaches, IamCache,
# ConfigCacheStore, the records and errors they take and give) may be used.
PRIVATE_STORE_MODULES = {"redis_store", "s3_store", "dynamo_store"}
PRIVATE_STORE_NAMES = {"RedisStore", "S3Store", "DynamoStore"}
# Attributes that are a store's client or a raw sub-store of ConsoleMeCaches.
CLIENT_ATTRS = {"redis_client", "_put_s3"}
SUB_STORES = {"redis", "s3", "dynamo"}
CACHES_EXPR = re.compile(r"(^|\.)caches(\(\))?$")
# Redis / boto3 storage calls; any of them outside stores/ is a client touched directly.
STORAGE_METHODS = {
    "hscan_iter",
    "hgetall",
    "hget",
    "hmget",
    "hset",
    "hdel",
    "hkeys",
    "hlen",
    "hexists",
    "scan_iter",
    "smembers",
    "sadd",
    "srem",
    "pipeline",
    "put_item",
    "put_object",
    "get_object",
    "batch_writer",
    "batch_get_item",
    "Table",
}
STORAGE_SERVICES = {"s3", "dynamodb"}

# Reviewed exceptions: (path inside the package, what) -> why it is not a store.
ALLOWED = {
    ("settings/redis_url.py", "import redis.connection"): "parses and validates REDIS_URL; opens no connection",
    ("aws/inventory.py", 'client("s3")'): "ListBuckets in a spoke account is the s3_buckets inventory, not a store",
    ("aws/config_files.py", 'client("s3")'): "reads a settings file from S3 (extends: AWS_S3:s3://...)",
    ("aws/config_files.py", "get_object"): "reads a settings file from S3 (extends: AWS_S3:s3://...)",
}


def leaks_in(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "redis" or alias.name.startswith(("redis.", "boto3.dynamodb")):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "redis" or module.startswith(("redis.", "boto3.dynamodb")):
                found.append((node.lineno, f"import {module}"))
            if module.rsplit(".", 1)[-1] in PRIVATE_STORE_MODULES:
                found.append((node.lineno, f"import stores.{module.rsplit('.', 1)[-1]}"))
            for alias in node.names:
                if alias.name in PRIVATE_STORE_NAMES:
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute):
            base = ast.unparse(node.value)
            if node.attr in CLIENT_ATTRS:
                found.append((node.lineno, f".{node.attr}"))
            elif node.attr == "client" and isinstance(node.value, ast.Attribute) and node.value.attr in SUB_STORES:
                found.append((node.lineno, f"{base}.client"))
            elif node.attr in SUB_STORES and CACHES_EXPR.search(base):
                found.append((node.lineno, f"{base}.{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            first = node.args[0] if node.args else None
            service = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            if name in STORAGE_METHODS:
                found.append((node.lineno, name))
            elif name in ("client", "resource") and service in STORAGE_SERVICES:
                found.append((node.lineno, f'{name}("{service}")'))
    return sorted(set(found))


def all_leaks() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in EXEMPT_DIRS:
            continue
        for line, what in leaks_in(path):
            if (rel.as_posix(), what) not in ALLOWED:
                out.append(f"consoleme_assets/{rel.as_posix()}:{line}: {what}")
    return out


def test_only_stores_touch_store_clients():
    leaks = all_leaks()
    assert not leaks, (
        f"{len(leaks)} place(s) outside consoleme_assets/stores/ touch a Redis/DynamoDB/S3 client or a store's "
        "internals; add a public method in stores/ and call that:\n  " + "\n  ".join(leaks)
    )


def test_the_guard_sees_each_kind_of_leak(tmp_path):
    """The detector itself: every pattern it claims to catch, in a throwaway module."""
    sample = tmp_path / "leaky.py"
    sample.write_text(
        "import redis\n"
        "from consoleme_assets.stores.dynamo_store import DynamoStore\n"
        "caches.redis.client.get('k')\n"
        "consoleme.caches().dynamo.put_items('t', [], [])\n"
        "x = consoleme.redis_client\n"
        "for f in c.hscan_iter('k'): pass\n"
        "session.resource('dynamodb')\n"
        "sessions.client('s3')\n"
        "caches._put_s3(obj, data, report)\n"
        "settings.s3.notifications\n"  # settings, not a store: must not be flagged
    )
    lines = {line for line, _ in leaks_in(sample)}
    assert lines == {1, 2, 3, 4, 5, 6, 7, 8, 9}, leaks_in(sample)
    for stale in ALLOWED:  # an exception nobody needs any more is removed, not kept
        assert stale[1] in {what for _, what in leaks_in(PACKAGE / stale[0])}, stale
