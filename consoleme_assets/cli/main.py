"""`consoleme-assets`: headless refreshes through Dagster (ConsoleMe's initialize_redis_oss.py) and the sandbox."""

import argparse
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from ..lib.resources import RedisUnreachable, check_redis, load_deployment_settings
from ..settings import normalize_account_id
from .history import history
from .refresh import RefreshInputError, print_failures, root_cause, run_refresh


@contextmanager
def _instance() -> Iterator[dg.DagsterInstance]:
    """The instance of $DAGSTER_HOME, disposed on the way out (its storage connections and run coordinator)."""
    if not os.environ.get("DAGSTER_HOME"):
        home = Path.cwd() / ".dagster_home"
        home.mkdir(exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
        print(f"DAGSTER_HOME not set; recording runs in {home}", file=sys.stderr)
    with dg.DagsterInstance.get() as instance:
        yield instance


def refresh(
    select: list[str] | None, accounts: list[str] | None, verbose: bool = False, accept: list[str] | None = None
) -> int:
    from ..definitions import defs

    known = sorted(
        key.to_user_string()
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition) and a.is_executable
        for key in a.keys
    )
    names = select or known
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"error: unknown asset(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    requested = None
    try:
        if accounts:
            requested = {normalize_account_id(a, "--accounts entry") for a in accounts}
        accepted = {normalize_account_id(a, "--accept-removals entry") for a in accept or ()}
        settings = load_deployment_settings()  # fail now, naming the file and key, rather than inside every run
        check_redis(settings.effective_redis_url)  # and before any AWS call or cache write
        with _instance() as instance:
            failures = run_refresh(
                defs,
                instance,
                names,
                requested,
                verbose=verbose,
                accept_removals=accepted,
                max_per_run=settings.tuning.max_accounts_per_run,
            )
    except (ValueError, RefreshInputError, RedisUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if failures:
        print_failures(failures)
        return 1
    return 0


def refresh_role(role_arn: str) -> int:
    """Re-read one role (ConsoleMe's refresh_iam_role) through the refresh_iam_role_job."""
    from ..definitions import defs
    from ..iam.jobs import parse_role_arn

    try:
        parse_role_arn(role_arn)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load_deployment_settings()
    with _instance() as instance:
        result = defs.resolve_job_def("refresh_iam_role_job").execute_in_process(
            run_config={
                "ops": {"refresh_iam_role": {"config": {"role_arn": role_arn}}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        print(
            f"{role_arn}: FAILED: {' | '.join(root_cause(e) for e in result.all_events if e.is_step_failure)}",
            file=sys.stderr,
        )
        return 1
    action = None
    for event in result.all_events:
        if event.is_successful_output:
            action = event.event_specific_data.metadata.get("action")
    print(f"{role_arn}: {getattr(action, 'value', 'done')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="consoleme-assets", description=__doc__)
    parser.add_argument("--config", help="settings file (default: $CONSOLEME_ASSETS_CONFIG, else the shipped default)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_refresh = sub.add_parser("refresh", help="materialize assets over all (or some) account partitions")
    p_refresh.add_argument("--select", help="comma-separated asset names (default: all)")
    p_refresh.add_argument("--accounts", help="comma-separated account ids (default: every account partition)")
    p_refresh.add_argument("-v", "--verbose", action="store_true", help="also print Dagster's run log")
    p_refresh.add_argument(
        "--accept-removals",
        help="comma-separated account ids whose removals the publish guard refused: publish them this time",
    )
    p_role = sub.add_parser("refresh-role", help="re-read one IAM role into IAM_ROLE_CACHE and DynamoDB")
    p_role.add_argument("role_arn")
    p_history = sub.add_parser("history", help="one ARN's change timeline with its diffs, oldest first")
    p_history.add_argument("arn", help="the ARN (for S3 buckets: the bucket's name)")
    p_history.add_argument("--since", help="7d, 36h, 30m back from now, or a date (2026-12-01); default: the retention")
    p_history.add_argument("--json", action="store_true", help="print the change records, one JSON object a line")
    sub.add_parser(
        "sandbox",
        help="start a seeded moto + Redis sandbox (same as python -m consoleme_assets.sandbox)",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.config:
        os.environ["CONSOLEME_ASSETS_CONFIG"] = str(Path(args.config).resolve())
    if args.command == "sandbox":
        try:
            from ..sandbox.__main__ import main as sandbox_main
        except ModuleNotFoundError as exc:  # moto/fakeredis come with the extra only
            print(
                f"error: the sandbox needs the 'sandbox' extra ({exc.name} is not installed): "
                "pip install 'consoleme-assets[sandbox]'",
                file=sys.stderr,
            )
            return 2
        return sandbox_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    split = lambda v: [p.strip() for p in v.split(",") if p.strip()] if v else None  # noqa: E731
    from ..settings import SettingsError

    try:
        if args.command == "refresh-role":
            return refresh_role(args.role_arn)
        if args.command == "history":
            return history(args.arn, args.since, as_json=args.json)
        return refresh(
            split(args.select), split(args.accounts), verbose=args.verbose, accept=split(args.accept_removals)
        )
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run() -> None:
    """The `consoleme-assets` command: `main`, then exit without the interpreter's final garbage collection.

    That collection walks every object the run left (Dagster's and botocore's models, the caches' records) and
    took 0.8 s of a 10-account refresh's 8 s; frozen objects are skipped. Exit handlers and thread joins still
    run. Only for the process's last step: in a long-lived process (tests) frozen garbage would never be freed."""
    code = main()
    gc.freeze()
    sys.exit(code)
