"""The headless refresh behind `consoleme-assets refresh` (ConsoleMe's initialize_redis_oss.py), through
Dagster so runs are recorded in $DAGSTER_HOME. Order: aws_accounts (it keeps the account partitions in
step), then the per-account datasets (one run per contiguous range of accounts, cut at
`consoleme_assets.max_accounts_per_run`), then the datasets built
from them (one run; Dagster orders them by their dependencies)."""

import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import dagster as dg

from ..lib.dagster_private import materialize_streaming
from ..lib.event_log import pool_event_log_connections
from ..lib.partitions import aws_accounts_partitions
from ..lib.publishing import ACCEPT_REMOVALS
from ..lib.ranges import account_ranges, contiguous_ranges, range_tags

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
CLI_TAG = "consoleme_assets/cli"  # the change history names the CLI as the cause


class RefreshInputError(ValueError):
    """Bad input: nothing was run."""


def root_cause(event: dg.DagsterEvent) -> str:
    """A failed step's root-cause text, not Dagster's wrapper around it."""
    data = event.step_failure_data
    user = data.user_failure_data if data else None
    if user and user.description:
        return user.description
    err = data.error if data else None
    while err is not None and err.cause is not None:
        err = err.cause
    return f"{err.cls_name}: {err.message.strip()}" if err else "failed"


class RunOutcome:
    """What the CLI reports of its runs, gathered from their events as they stream by; the events themselves are
    not kept (lib/dagster_private.materialize_streaming), so a refresh's memory does not grow with its accounts."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.done: dict[str, set[str | None]] = defaultdict(set)  # asset -> partitions materialized
        self.errors: dict[str, list[str]] = defaultdict(list)  # step -> root causes, one per failed run

    def __call__(self, event: dg.DagsterEvent) -> None:
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            self.done[mat.asset_key.to_user_string()].add(mat.partition)
        elif event.is_step_failure:
            self.errors[event.step_key or ""].append(root_cause(event))
        elif event.event_type_value == dg.DagsterEventType.ASSET_CHECK_EVALUATION.value:
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                self.out(
                    f"{evaluation.asset_key.to_user_string()}: check {evaluation.check_name} failed: "
                    f"{evaluation.description}"
                )


def run_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    names: list[str],
    accounts: set[str] | None,
    out: Callable[[str], None] = print,
    verbose: bool = False,
    accept_removals: set[str] | None = None,
    max_per_run: int | None = None,
) -> list[str]:
    """Materialize `names`; returns one line per failure (empty = all good). `accept_removals`: accounts whose
    removals the publish guard refused, to publish now (lib/publishing.py)."""
    assets = list(defs.assets or [])
    checks = list(defs.asset_checks or [])  # selecting an asset selects its checks: they run after it
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    resources = defs.resources or {}
    run_config = {} if verbose else QUIET
    step_of = {}  # asset name -> step (node) name, for multi-assets
    for a in assets:
        if isinstance(a, dg.AssetsDefinition):
            for key in a.keys:
                step_of[key.to_user_string()] = a.node_def.name
    failures: list[str] = []
    pool_event_log_connections(instance)  # a range run writes a planned event per account when created

    def materialize(selection: list[str], outcome: RunOutcome, tags: dict[str, str] | None = None) -> RunOutcome:
        config = dict(run_config)
        if accept_removals and any(specs[n].partitions_def is not None for n in selection):
            accepted = {"config": {ACCEPT_REMOVALS: sorted(accept_removals)}}
            config["ops"] = {step_of[n]: accepted for n in selection if specs[n].partitions_def is not None}
        materialize_streaming(
            [*assets, *checks],
            selection=selection,
            instance=instance,
            resources=resources,
            tags={CLI_TAG: "refresh", **(tags or {})},
            run_config=config,
            on_event=outcome,
        )
        return outcome

    def report(selection: list[str], outcome: RunOutcome, seconds: float) -> None:
        for name in selection:
            if name in outcome.done:
                out(f"{name}: ok in {seconds:.1f}s")
            else:
                causes = outcome.errors.get(step_of.get(name, name))
                reason = causes[-1] if causes else "not run: an asset it depends on failed"
                failures.append(f"{name}: {reason}")
                out(f"{name}: FAILED: {reason}")

    first = [n for n in names if n == "aws_accounts"]
    partitioned = [n for n in names if specs[n].partitions_def is not None]
    downstream = [n for n in names if n not in first and n not in partitioned]
    if first:
        t0 = time.monotonic()
        report(first, materialize(first, RunOutcome(out)), time.monotonic() - t0)

    if partitioned:
        known = instance.get_dynamic_partitions(aws_accounts_partitions.name)
        chosen = set(known) if accounts is None else accounts
        missing = sorted(chosen - set(known))
        if missing:
            raise RefreshInputError(
                f"account(s) {', '.join(missing)} are not account partitions (closed, suspended or not discovered "
                "yet); run `consoleme-assets refresh --select aws_accounts` first"
            )
        if not chosen:
            raise RefreshInputError("no account partitions: materialize aws_accounts first")
        outcome = RunOutcome(out)  # over every range run
        t0 = time.monotonic()
        # Neighbouring accounts, in runs of at most max_accounts_per_run (lib/ranges.py); one after another here:
        # the runs of a deployment's launches are spread by its run launcher.
        ranges = [r for stretch in contiguous_ranges(known, chosen) for r in account_ranges(stretch, max_per_run)]
        launch = f"cli@{uuid.uuid4().hex[:12]}"
        for index, accounts_range in enumerate(ranges):
            materialize(partitioned, outcome, range_tags(accounts_range, index, len(ranges), launch))
        seconds = time.monotonic() - t0
        for name in partitioned:
            line = f"{name}: {len(outcome.done[name])}/{len(chosen)} accounts in {seconds:.1f}s"
            failed = sorted(chosen - outcome.done[name])
            if failed:
                detail = "; ".join(dict.fromkeys(outcome.errors.get(step_of.get(name, name), []))) or "not refreshed"
                failures.append(f"{name}: accounts {', '.join(failed)}: {detail}")
                line += f"; FAILED accounts {', '.join(failed)}: {detail}"
            out(line)

    if downstream:
        t0 = time.monotonic()
        report(downstream, materialize(downstream, RunOutcome(out)), time.monotonic() - t0)
    return failures


def print_failures(failures: list[str]) -> None:
    print("refresh failed:\n  " + "\n  ".join(failures), file=sys.stderr)
