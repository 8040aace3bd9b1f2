"""Asset checks: per-account staleness of every partitioned asset, and the shape / emptiness / account coverage
of every dataset as ConsoleMe's web tier reads it. Big hashes are sampled (HSCAN), never loaded whole.

Per-account datasets evaluate their checks inside their own refresh step (see `account_refresh`): a separate
check step would wait for an output those assets never yield (they record one materialization per landed
account instead) and show Skipped. Unpartitioned datasets get one `@asset_check` op each."""

import time
from typing import Any

import dagster as dg

from ..aws.arns import account_of
from ..stores.caches import AccountLists, ArnHashes, ConsoleMeCaches, JsonDocument
from . import shapes
from .datasets import Dataset
from .freshness import Window
from .partitions import aws_accounts_partitions
from .resources import ConsoleMeResource
from .staleness import account_states, describe_age

SAMPLE = 200  # entries read per hash per check
STALENESS_CHECK = "accounts_fresh"
SHAPE_CHECK = "cache_shape"
COVERAGE_CHECK = "covers_all_accounts"
SHAPE_DESCRIPTION = "the cache has the fields and types ConsoleMe reads"


def account_check_specs(dataset: Dataset) -> list[dg.AssetCheckSpec]:
    """The checks a per-account dataset's own step evaluates after every refresh (and alone, in a check-only
    run of the same op): staleness per account, plus shape and coverage where its declaration has them."""
    name = dataset.name
    specs = [
        dg.AssetCheckSpec(
            STALENESS_CHECK,
            asset=name,
            description="every account partition refreshed within the asset's freshness windows",
        )
    ]
    if dataset.shape is not None:
        specs.append(dg.AssetCheckSpec(SHAPE_CHECK, asset=name, description=SHAPE_DESCRIPTION))
    if dataset.coverage is not None:
        specs.append(dg.AssetCheckSpec(COVERAGE_CHECK, asset=name, description=dataset.coverage))
    return specs


def staleness_result(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, window: Window, now: float
) -> dg.AssetCheckResult:
    """`accounts_fresh`: pass/fail for the asset, each stale account (level, age) in the metadata."""
    accounts = instance.get_dynamic_partitions(aws_accounts_partitions.name)
    states = account_states(instance, asset_key, accounts, window, now)
    stale = {a: s for a, s in states.items() if s.level != "PASS"}
    failing = sorted(a for a, s in stale.items() if s.level == "FAIL")
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=STALENESS_CHECK,
        passed=not stale,
        severity=dg.AssetCheckSeverity.ERROR if failing else dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(stale)} of {len(accounts)} accounts stale: "
            + ", ".join(f"{a} {s.level} ({describe_age(s.age_seconds)})" for a, s in sorted(stale.items())[:20])
        )
        if stale
        else f"all {len(accounts)} accounts refreshed within {window.warn_minutes} min",
        metadata={
            "accounts": len(accounts),
            "stale_accounts": dg.MetadataValue.json(
                {a: {"level": s.level, "age_seconds": s.age_seconds} for a, s in sorted(stale.items())}
            ),
            "failing_accounts": dg.MetadataValue.json(failing),
            "warn_minutes": window.warn_minutes,
            "fail_minutes": window.fail_minutes,
        },
    )


def evaluate_checks(
    check_keys: list[dg.AssetCheckKey],
    dataset: Dataset,
    caches: ConsoleMeCaches,
    instance: dg.DagsterInstance,
    window: Window | None = None,
    now: float | None = None,
    scope: list[str] | None = None,
) -> list[dg.AssetCheckResult]:
    """The results of the given checks of `dataset`, from what is cached now. An unreadable cache is a failed
    check, never a crashed step: the step that called this may have refreshed data that must still be recorded.
    `scope`: the accounts `covers_all_accounts` judges (a run of a split launch that is not its last: its own
    accounts; the last run judges every active account)."""
    return [
        staleness_result(instance, key.asset_key, window, time.time() if now is None else now)
        if key.name == STALENESS_CHECK and window is not None
        else dataset_result(key, dataset, caches, instance, scope)
        for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
    ]


# -- dataset shape --------------------------------------------------------------------------------------


def _sample(caches: ConsoleMeCaches, key: str) -> list[tuple[str, str]]:
    return caches.sample_hash(key, SAMPLE)


def active_accounts(instance: dg.DagsterInstance, scope: list[str] | None = None) -> list[str]:
    """The active accounts: the account partitions, which discovery keeps equal to them (those in `scope`)."""
    active = sorted(instance.get_dynamic_partitions(aws_accounts_partitions.name))
    return active if scope is None else sorted(set(active) & set(scope))


def shape_problems(caches: ConsoleMeCaches, dataset: Dataset) -> tuple[list[str], dict[str, Any]]:
    """(problems, metadata) for one dataset's cache: its declared shape, read from its declared storage."""
    settings = caches.settings
    storage, shape, empty_because = dataset.storage, dataset.shape, dataset.not_empty_because
    if shape is None:
        raise KeyError(f"no shape check for dataset {dataset.name!r}")
    if isinstance(storage, JsonDocument):
        key = storage.redis_key(settings)
        doc = caches.read_json(storage)
        if doc is None:
            return [f"Redis key {key} does not exist"], {"redis_key": key}
        problems = shape.problems(key, doc)
        size = shape.entries(doc)
        if empty_because and size == 0:
            problems.insert(0, f"{key} is empty: {empty_because}")
        return problems, {"redis_key": key, "entries": size}
    if isinstance(storage, AccountLists):
        key = storage.redis_key(settings)
        size = caches.hash_size(key)
        problems = shape.problems(key, _sample(caches, key))
        if empty_because and size == 0:
            problems.insert(0, f"{key} is empty: {empty_because}")
        return problems, {"redis_key": key, "entries": size}
    if isinstance(storage, ArnHashes):
        keys = storage.redis_keys(settings)
        problems, sizes = [], {}
        for kind, key in keys.items():
            problems += shape.problems(key, kind, _sample(caches, key))
            sizes[key] = caches.hash_size(key)
        first = next(iter(keys.values()))
        if empty_because and sizes[first] == 0:
            problems.insert(0, f"{first} is empty: {empty_because}")
        if len(keys) == 1:
            return problems, {"redis_key": first, "entries": sizes[first]}
        return problems, {"entries": dg.MetadataValue.json(sizes)}
    raise KeyError(f"dataset {dataset.name!r} declares a shape but no Redis storage to read it from")


def coverage_problems(
    caches: ConsoleMeCaches, instance: dg.DagsterInstance, storage: AccountLists, scope: list[str] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Every active account has a field in the dataset's per-account hash."""
    key = storage.redis_key(caches.settings)
    active = active_accounts(instance, scope)
    present = caches.fields_present(key, active)
    missing = shapes.missing_accounts(active, present)
    problems = [f"{key} has no field for active account(s) {', '.join(missing[:50])}"] if missing else []
    return problems, {
        "redis_key": key,
        "active_accounts": len(active),
        "missing_accounts": dg.MetadataValue.json(missing),
    }


def accounts_in_arn_hash(caches: ConsoleMeCaches, key: str) -> set[str]:
    """The accounts that own at least one field of an ARN-keyed hash. HKEYS reads field names only (ARNs), never
    the values (role documents), so even 100k roles are a few MB once per check run."""
    return {account for arn in caches.hash_fields(key) if (account := account_of(arn))}


def latest_counts(instance: dg.DagsterInstance, asset_key: dg.AssetKey, accounts: list[str]) -> dict[str, dict]:
    """{account: the `counts` metadata of its latest materialization} for the accounts that have one."""
    out = {}
    for account in accounts:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[account]), limit=1
        )
        for record in result.records:
            counts = getattr(record.asset_materialization.metadata.get("counts"), "value", None)
            out[account] = counts if isinstance(counts, dict) else {}
    return out


SINGULAR = {"roles": "role", "users": "user", "groups": "group", "policies": "policy"}


def own_count(counts: dict[str, int], kind: str) -> int:
    """How many of `kind` a refresh found under the account's own ARNs. AWS-managed policies
    (arn:aws:iam::aws:policy/...) are cached too but belong to no account, so they cannot cover one."""
    found = counts.get(kind, 0)
    return found - counts.get("aws_managed_policies", 0) if kind == "policies" else found


def arn_coverage_problems(
    caches: ConsoleMeCaches, instance: dg.DagsterInstance, dataset: Dataset, scope: list[str] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The ARN-keyed hashes (field = ARN) cover the accounts. For IAM: every active account in ALL_AWS_ACCOUNTS has
    roles in IAM_ROLE_CACHE (the first kind: every account has at least the spoke role), unless its latest refresh
    found none (e.g. all filtered out by roles.allowed_tags); and an account whose latest refresh found users,
    groups or policies (the `counts` metadata, by kind) has some in IAM_USER_CACHE / IAM_GROUP_CACHE /
    IAM_POLICY_CACHE. Only the accounts missing from a hash have their latest materialization read, so a healthy
    cache costs one HKEYS per hash."""
    settings = caches.settings
    active = active_accounts(instance, scope)
    problems: list[str] = []
    missing_by_key: dict[str, list[str]] = {}
    counts_cache: dict[str, dict] = {}
    asset_key = dg.AssetKey(dataset.name)
    keys = dataset.storage.redis_keys(settings)
    first_kind = next(iter(keys))
    for kind, key in keys.items():
        missing = shapes.missing_accounts(active, dict.fromkeys(accounts_in_arn_hash(caches, key), True))
        unknown = [a for a in missing if a not in counts_cache]
        counts_cache.update(latest_counts(instance, asset_key, unknown))
        if kind == first_kind:  # expected everywhere unless the last refresh found none
            missing = [a for a in missing if counts_cache.get(a, {}).get(kind, 1) != 0]
        else:  # expected only where the last refresh found some of the account's own
            missing = [a for a in missing if own_count(counts_cache.get(a) or {}, kind) > 0]
        if missing:
            missing_by_key[key] = missing
            why = "" if kind == first_kind else f" although its latest refresh found {kind}"
            never = [a for a in missing if a not in counts_cache]
            note = f" ({', '.join(never[:50])} never refreshed)" if never else ""
            problems.append(
                f"{key} has no {SINGULAR[kind]} ARN of active account(s) {', '.join(missing[:50])}{why}{note}"
            )
    return problems, {
        "redis_keys": dg.MetadataValue.json(list(keys.values())),
        "active_accounts": len(active),
        "missing_accounts": dg.MetadataValue.json(missing_by_key),
    }


def dataset_result(
    check_key: dg.AssetCheckKey,
    dataset: Dataset,
    caches: ConsoleMeCaches,
    instance: dg.DagsterInstance,
    scope: list[str] | None = None,
) -> dg.AssetCheckResult:
    """`cache_shape` or `covers_all_accounts` of one dataset, read from the store ConsoleMe's web tier reads."""
    name = check_key.asset_key.to_user_string()
    try:
        if check_key.name == SHAPE_CHECK:
            problems, metadata = shape_problems(caches, dataset)
        elif isinstance(dataset.storage, ArnHashes):
            problems, metadata = arn_coverage_problems(caches, instance, dataset, scope)
        else:
            problems, metadata = coverage_problems(caches, instance, dataset.storage, scope)
        if scope is not None and check_key.name == COVERAGE_CHECK:
            metadata["judged"] = dg.MetadataValue.text(
                f"this run's {len(scope)} accounts: a run of a split launch that is not its last (the last judges all)"
            )
    except Exception as exc:  # an unreadable cache is a failed check, not a crashed step
        problems, metadata = [f"{name}: reading the cache failed: {type(exc).__name__}: {exc}"], {}
    return dg.AssetCheckResult(
        asset_key=check_key.asset_key,
        check_name=check_key.name,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR if check_key.name == SHAPE_CHECK else dg.AssetCheckSeverity.WARN,
        description="; ".join(problems[:5]) if problems else "ok",
        metadata={**metadata, "problems": dg.MetadataValue.json(problems)},
    )


def build_dataset_checks(datasets: list[Dataset]) -> list[dg.AssetChecksDefinition]:
    """`cache_shape` (+ not empty) of each unpartitioned dataset that declares a shape, one check op per asset: a
    check that shares an op with another asset's check would be skipped whenever that other asset fails in the
    same run. Per-account datasets evaluate their checks in their own step (`account_check_specs`)."""
    return [_shape_check(d) for d in datasets if d.shape is not None]


def _shape_check(dataset: Dataset) -> dg.AssetChecksDefinition:
    # In the dataset's pool: the checks job never evaluates it while the dataset is being written (an evaluation
    # racing a materialization left the asset page showing "Not evaluated" for the newer one).
    @dg.asset_check(asset=dataset.name, name=SHAPE_CHECK, description=SHAPE_DESCRIPTION, pool=dataset.pool)
    def _shape(context: dg.AssetCheckExecutionContext, consoleme: ConsoleMeResource) -> dg.AssetCheckResult:
        return dataset_result(context.check_specs[0].key, dataset, consoleme.caches(), context.instance)

    return _shape
