"""Local sandbox: a moto server seeded with a demo AWS organisation, plus Redis, for tests and ``make dev``.

Run it with ``python -m consoleme_assets.sandbox``; see ``__main__`` for the env file it writes.
"""

from pathlib import Path

from consoleme_assets.sandbox.seed import DemoOrg, DemoOrgAlreadySeeded, seed_demo_org
from consoleme_assets.sandbox.servers import (
    MotoServer,
    RedisServer,
    ServerStartError,
    free_port,
    start_moto_server,
    start_redis_server,
)

# The ConsoleMe-style config for the sandbox (no endpoints in it: those come from the environment).
SANDBOX_CONFIG = Path(__file__).with_name("sandbox.yaml").resolve()

__all__ = [
    "SANDBOX_CONFIG",
    "DemoOrg",
    "DemoOrgAlreadySeeded",
    "MotoServer",
    "RedisServer",
    "ServerStartError",
    "free_port",
    "seed_demo_org",
    "start_moto_server",
    "start_redis_server",
]
