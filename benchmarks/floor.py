"""The raw floor: the per-account assets' AWS calls and cache writes, with no Dagster (not even imported).

    python -m benchmarks.floor [--accounts 111122223333,...] [--json-out floor.json]

Per dataset, in the order and shape the assets run inside one Dagster run: a ThreadPoolExecutor of
`consoleme_assets.max_concurrent_accounts` collects accounts; the main thread writes each account as it
finishes (as `account_refresh.refresh_accounts`); then the dataset's end-of-run step (combined S3 files,
AWS Config ttl sweep). Collectors and writers are our own (`consoleme_assets.aws.*`, `consoleme_assets.stores.*`),
so the AWS calls and the bytes written are the same as the assets'. Two small pieces are mirrored here
because their modules import Dagster: `iam.refresh.iam_account_from_gaad` and `AwsConfigSource.select`.

Accounts default to the active ones in Redis ALL_AWS_ACCOUNTS (what `aws_accounts` wrote, i.e. the partitions).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import redis

from consoleme_assets.accounts.storage import ACCOUNTS_STORAGE
from consoleme_assets.aws.iam import account_authorization_details
from consoleme_assets.aws.inventory import (
    enabled_regions,
    managed_policy_arns,
    s3_bucket_names,
    sns_topic_arns,
    sqs_queue_arns,
)
from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.aws_config.storage import STORAGE as CONFIG_STORAGE
from consoleme_assets.iam import records
from consoleme_assets.iam.storage import IAM_STORAGE
from consoleme_assets.inventory.storage import (
    MANAGED_POLICIES_STORAGE,
    S3_BUCKETS_STORAGE,
    SNS_TOPICS_STORAGE,
    SQS_QUEUES_STORAGE,
)
from consoleme_assets.lib.concurrency import completed_in_turn
from consoleme_assets.settings import Settings, load_settings
from consoleme_assets.stores import RedisStore, S3Store
from consoleme_assets.stores.caches import ConsoleMeCaches
from consoleme_assets.stores.config_cache import ConfigCacheStore, config_batch
from consoleme_assets.stores.dynamo_store import DynamoStore
from consoleme_assets.stores.iam_cache import IamAccount, IamCache

DATASETS = ("aws_config_resources", "iam_resources", "managed_policies", "s3_buckets", "sns_topics", "sqs_queues")


def build_caches(settings: Settings, sessions: AwsSessions) -> ConsoleMeCaches:
    """As ConsoleMeResource.caches() (lib/resources.py imports Dagster)."""
    client = redis.Redis.from_url(
        settings.effective_redis_url,
        decode_responses=True,
        socket_timeout=30,
        socket_connect_timeout=10,
        health_check_interval=30,
    )
    return ConsoleMeCaches(
        settings,
        RedisStore(client, settings.redis_keys.last_updated),
        S3Store(sessions.client("s3")),
        DynamoStore(
            sessions.hub.resource(
                "dynamodb",
                region_name=settings.region,
                endpoint_url=settings.effective_dynamodb_endpoint,
                config=sessions.config,
            )
        ),
    )


def iam_account_from_gaad(
    account_id: str, gaad: dict[str, list], settings: Settings, templated: dict[str, str | None], now: dt.datetime
) -> IamAccount:
    """Mirror of consoleme_assets.iam.refresh.iam_account_from_gaad."""
    ttl = records.ttl_from(now)
    owner_keys = settings.owner_tags
    roles = [
        r
        for r in gaad["RoleDetailList"]
        if records.allowed_to_sync_role(r["Arn"], records.tags_of(r), settings.role_filter)
    ]
    entries = {
        "roles": {r["Arn"]: records.role_entry(r, account_id, ttl, owner_keys, templated.get(r["Arn"])) for r in roles},
        "users": {u["Arn"]: records.user_entry(u, account_id, ttl, owner_keys) for u in gaad["UserDetailList"]},
        "groups": {g["Arn"]: records.group_entry(g, account_id, ttl) for g in gaad["GroupDetailList"]},
        "policies": {p["Arn"]: records.policy_entry(p, account_id, ttl) for p in gaad["Policies"]},
    }
    raw = {
        "roles": roles,
        "users": gaad["UserDetailList"],
        "groups": gaad["GroupDetailList"],
        "policies": gaad["Policies"],
    }
    return IamAccount(
        account_id, entries, raw=raw, gaad=gaad, roles_filtered_out=len(gaad["RoleDetailList"]) - len(roles)
    )


def config_rows(settings: Settings, sessions: AwsSessions, account_id: str, max_regions: int = 4):
    """Mirror of AwsConfigSource.select: one session per account, regions concurrently, SelectResourceConfig."""
    import boto3

    from consoleme_assets.stores.config_cache import ConfigBatch  # noqa: F401  (same module the asset uses)

    regions = list(settings.aws_config.available_regions)
    if not regions:
        regions = boto3.Session().get_available_regions("config")
    regions = [r for r in regions if r not in set(settings.aws_config.exclude_regions)]
    expression = settings.aws_config.query.format(account_id=account_id)
    credentials = sessions.credentials(account_id)
    sessions.warm("config")
    session = sessions.session_on(credentials)
    lock = threading.Lock()

    def query(region: str) -> list[dict[str, Any]]:
        with lock:
            client = session.client(
                "config", region_name=region, endpoint_url=settings.endpoint_url, config=sessions.config
            )
        rows, kwargs = [], {"Expression": expression, "Limit": 100}
        while True:
            response = client.select_resource_config(**kwargs)
            rows.extend(json.loads(r) for r in response.get("Results", []))
            if not response.get("NextToken"):
                return rows
            kwargs["NextToken"] = response["NextToken"]

    found: dict[str, list] = {}
    with ThreadPoolExecutor(max_workers=min(max_regions, len(regions))) as pool:
        futures = {pool.submit(query, r): r for r in regions}
        for future in as_completed(futures):
            found[futures[future]] = future.result()
    return config_batch(account_id, [row for r in regions for row in found.get(r, [])], time.time(), sorted(found), {})


def dataset_steps(name: str, settings: Settings, sessions: AwsSessions, caches: ConsoleMeCaches):
    """(collect, write, finalize) for one dataset, as its asset wires them."""
    if name == "iam_resources":
        cache = IamCache(caches, IAM_STORAGE)

        def collect(a: str) -> IamAccount:
            gaad = account_authorization_details(sessions, a)
            templated = cache.templated([r["Arn"] for r in gaad["RoleDetailList"]])
            return iam_account_from_gaad(a, gaad, settings, templated, dt.datetime.now(dt.UTC))

        return (
            collect,
            lambda a, acct: IamCache(caches, IAM_STORAGE).write_account(acct),
            lambda: cache.write_combined(),
        )
    if name == "aws_config_resources":

        def finish() -> Any:
            store = ConfigCacheStore(caches, CONFIG_STORAGE)
            return store.write_combined(store.sweep_expired())

        return (
            lambda a: config_rows(settings, sessions, a),
            lambda a, batch: ConfigCacheStore(caches, CONFIG_STORAGE).write_account(batch),
            finish,
        )
    lists: dict[str, Callable[[str], Any]] = {
        "s3_buckets": lambda a: s3_bucket_names(sessions, a),
        "managed_policies": lambda a: managed_policy_arns(sessions, a),
        "sqs_queues": lambda a: sqs_queue_arns(sessions, a, enabled_regions(settings, sessions, a)).items,
        "sns_topics": lambda a: sns_topic_arns(sessions, a, enabled_regions(settings, sessions, a)).items,
    }
    storage = INVENTORY[name]
    return (
        lists[name],
        lambda a, items: caches.write_account_list(storage, a, items),
        lambda: caches.write_account_list_combined(storage),
    )


INVENTORY = {  # the datasets' names (inventory/datasets.py) and their storage
    "s3_buckets": S3_BUCKETS_STORAGE,
    "managed_policies": MANAGED_POLICIES_STORAGE,
    "sqs_queues": SQS_QUEUES_STORAGE,
    "sns_topics": SNS_TOPICS_STORAGE,
}


def refresh_dataset(
    name: str, accounts: list[str], settings: Settings, sessions: AwsSessions, caches: ConsoleMeCaches
) -> dict[str, Any]:
    collect, write, finalize = dataset_steps(name, settings, sessions, caches)
    t0 = time.monotonic()
    failed: dict[str, str] = {}
    workers = max(1, min(settings.tuning.max_concurrent_accounts, len(accounts)))
    for account_id, future in completed_in_turn(collect, accounts, workers):  # as the asset does
        try:
            write(account_id, future.result())  # on this thread, one account at a time
        except Exception as exc:  # noqa: BLE001 - counted, as the asset does
            failed[account_id] = f"{type(exc).__name__}: {exc}"
    finalize()
    return {"seconds": round(time.monotonic() - t0, 3), "accounts": len(accounts) - len(failed), "failed": failed}


def active_accounts(caches: ConsoleMeCaches) -> list[str]:
    data = caches.read_json(ACCOUNTS_STORAGE) or {}
    return sorted(a["id"] for a in data.get("accounts", []) if a.get("status") == "active")


def run_floor(accounts: list[str] | None = None, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    t0 = time.monotonic()
    settings = load_settings()
    sessions = AwsSessions(settings)
    caches = build_caches(settings, sessions)
    accounts = accounts or active_accounts(caches)
    if not accounts:
        raise SystemExit("no accounts: run `consoleme-assets refresh --select aws_accounts` first")
    per_dataset = {name: refresh_dataset(name, accounts, settings, sessions, caches) for name in datasets}
    return {
        "accounts": len(accounts),
        "datasets": per_dataset,
        "seconds_in_datasets": round(sum(d["seconds"] for d in per_dataset.values()), 3),
        "seconds_in_process": round(time.monotonic() - t0, 3),
        "max_concurrent_accounts": settings.tuning.max_concurrent_accounts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", help="comma-separated ids (default: active accounts in ALL_AWS_ACCOUNTS)")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    result = run_floor(args.accounts.split(",") if args.accounts else None, tuple(args.datasets.split(",")))
    text = json.dumps(result, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    failed = sum(len(d["failed"]) for d in result["datasets"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    gc.freeze()  # as `consoleme-assets` does: skip the final collection of what the run left (the floor is the best case)
    sys.exit(code)
