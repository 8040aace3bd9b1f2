"""`consoleme-assets`: headless refreshes through Dagster (ConsoleMe's initialize_redis_oss.py) and the sandbox."""

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg

from .partitions import aws_accounts_partitions
from .settings import normalize_account_id


def contiguous_ranges(known: list[str], chosen: set[str]) -> list[tuple[str, str]]:
    """Split the chosen partitions into runs of neighbours in partition order (one Dagster run each)."""
    ranges, start, prev = [], None, None
    for key in known:
        if key in chosen:
            start = start or key
            prev = key
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return ranges


def _instance() -> dg.DagsterInstance:
    if not os.environ.get("DAGSTER_HOME"):
        home = Path.cwd() / ".dagster_home"
        home.mkdir(exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
        print(f"DAGSTER_HOME not set; recording runs in {home}", file=sys.stderr)
    return dg.DagsterInstance.get()


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            err = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            if user and user.description:
                texts.append(user.description)
                continue
            while err is not None and err.cause is not None:  # the root cause, not Dagster's wrapper
                err = err.cause
            texts.append(f"{err.cls_name}: {err.message.strip()}" if err else "")
    return " | ".join(t for t in texts if t) or "run failed"


def refresh(select: list[str] | None, accounts: list[str] | None, verbose: bool = False) -> int:
    from .definitions import defs

    assets = list(defs.assets or [])
    by_key = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    names = select or sorted(by_key)
    unknown = [n for n in names if n not in by_key]
    if unknown:
        print(f"error: unknown asset(s) {', '.join(unknown)}; known: {', '.join(sorted(by_key))}", file=sys.stderr)
        return 2
    from .settings import load_settings

    requested = None
    if accounts:
        try:
            requested = {normalize_account_id(a, "--accounts entry") for a in accounts}
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    load_settings()  # fail now, naming the file and key, rather than inside every run
    instance = _instance()
    resources = defs.resources or {}
    unpartitioned = [n for n in names if by_key[n].partitions_def is None]
    partitioned = [n for n in names if by_key[n].partitions_def is not None]
    failures: list[str] = []
    # Dagster's own step-by-step log only with --verbose; the summary lines are the output.
    run_config = {} if verbose else {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

    # Unpartitioned first: aws_accounts keeps the account partitions in step.
    for name in sorted(unpartitioned, key=lambda n: n != "aws_accounts"):
        t0 = time.monotonic()
        result = dg.materialize(assets, selection=[name], instance=instance, resources=resources, raise_on_error=False,
            run_config=run_config,
        )
        if result.success:
            print(f"{name}: ok in {time.monotonic() - t0:.1f}s")
        else:
            failures.append(f"{name}: {_failure_text(result)}")
            print(f"{name}: FAILED: {_failure_text(result)}")

    if partitioned:
        known = instance.get_dynamic_partitions(aws_accounts_partitions.name)
        if requested is not None:
            chosen = requested
            missing = sorted(chosen - set(known))
            if missing:
                print(
                    f"error: account(s) {', '.join(missing)} are not account partitions (closed, suspended or not "
                    "discovered yet); run `consoleme-assets refresh --select aws_accounts` first",
                    file=sys.stderr,
                )
                return 2
        else:
            chosen = set(known)
        if not chosen:
            print("error: no account partitions: materialize aws_accounts first", file=sys.stderr)
            return 2
        done: dict[str, set[str]] = defaultdict(set)
        errors: dict[str, list[str]] = defaultdict(list)
        t0 = time.monotonic()
        for start, end in contiguous_ranges(known, chosen):
            tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
            result = dg.materialize(
                assets, selection=partitioned, instance=instance, resources=resources, tags=tags, raise_on_error=False,
                run_config=run_config,
            )
            for event in result.get_asset_materialization_events():
                mat = event.event_specific_data.materialization
                done[mat.asset_key.to_user_string()].add(mat.partition)
            if not result.success:
                for name in partitioned:
                    errors[name].append(_failure_text(result))
        elapsed = time.monotonic() - t0
        for name in partitioned:
            failed = sorted(chosen - done[name])
            line = f"{name}: {len(done[name])}/{len(chosen)} accounts in {elapsed:.1f}s"
            if failed:
                detail = "; ".join(dict.fromkeys(errors[name])) or "not refreshed"
                failures.append(f"{name}: accounts {', '.join(failed)}: {detail}")
                line += f"; FAILED accounts {', '.join(failed)}: {detail}"
            print(line)

    if failures:
        print("refresh failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def refresh_role(role_arn: str) -> int:
    """Re-read one role (ConsoleMe's refresh_iam_role) through the refresh_iam_role_job."""
    from .definitions import defs
    from .iam.jobs import parse_role_arn
    from .settings import load_settings

    try:
        parse_role_arn(role_arn)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load_settings()
    result = defs.resolve_job_def("refresh_iam_role_job").execute_in_process(
        run_config={
            "ops": {"refresh_iam_role": {"config": {"role_arn": role_arn}}},
            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        },
        instance=_instance(),
        raise_on_error=False,
    )
    if not result.success:
        print(f"{role_arn}: FAILED: {_failure_text(result)}", file=sys.stderr)
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
    p_role = sub.add_parser("refresh-role", help="re-read one IAM role into IAM_ROLE_CACHE and DynamoDB")
    p_role.add_argument("role_arn")
    sub.add_parser("sandbox", help="start a seeded moto + Redis sandbox (same as python -m consoleme_assets.sandbox)",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.config:
        os.environ["CONSOLEME_ASSETS_CONFIG"] = str(Path(args.config).resolve())
    if args.command == "sandbox":
        from .sandbox.__main__ import main as sandbox_main

        return sandbox_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    split = lambda v: [p.strip() for p in v.split(",") if p.strip()] if v else None  # noqa: E731
    from .settings import SettingsError

    try:
        if args.command == "refresh-role":
            return refresh_role(args.role_arn)
        return refresh(split(args.select), split(args.accounts), verbose=args.verbose)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
