"""Candidate speed-ups, applied by monkeypatching so they can be measured without editing core modules.

    python -m benchmarks.speedups shared-loader -- refresh --select iam_resources   # the CLI, patched
    python -m benchmarks.floor --speedups shared-loader

`shared-loader`: every botocore session in the process shares one data loader (service models, endpoint
data, paginators parsed once), instead of each assumed-role session (`AwsSessions._assume`,
`aws.config_resources.account_session`) reading and parsing the JSON models from disk for each of its
clients. The proposed core change is two lines, in both functions, after `core = botocore.session.get_session()`:
`core.register_component("data_loader", <the hub session>._session.get_component("data_loader"))`.
"""

from __future__ import annotations

import sys

import botocore.session

AVAILABLE = ("shared-loader",)
_applied: set[str] = set()


def apply(names: list[str] | tuple[str, ...]) -> None:
    for name in names:
        if name not in AVAILABLE:
            raise SystemExit(f"unknown speed-up {name!r}; known: {', '.join(AVAILABLE)}")
        if name in _applied:
            continue
        if name == "shared-loader":
            original = botocore.session.get_session
            loader = original().get_component("data_loader")

            def get_session(env_vars=None):  # noqa: ANN001, ANN202
                session = original(env_vars)
                session.register_component("data_loader", loader)
                return session

            botocore.session.get_session = get_session
        _applied.add(name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    apply([n for n in ",".join(argv[:split]).split(",") if n])
    from consoleme_assets.cli import main as cli_main

    return cli_main(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main())
