"""`aws_config_resources`: every AWS Config resource of each account -> AWSCONFIG_RESOURCE_CACHE (+ S3, DynamoDB),
hourly as ConsoleMe did."""

import time
from collections.abc import Iterable, Iterator
from typing import Any

import dagster as dg

from ..aws.arns import is_aws_managed
from ..lib.account_refresh import refresh_accounts
from ..lib.datasets import Dataset, hourly_at
from ..lib.publishing import Publisher
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import MAX_PROBLEMS, Shape, decode
from ..lib.write_metadata import config_account_metadata, config_run_metadata
from ..stores.config_cache import ConfigBatch, ConfigCacheStore, config_batch
from .source import AwsConfigSource
from .storage import STORAGE

GLOBAL_SWITCH = "celery.cache_resources_from_aws_config_across_accounts.enabled"
ACCOUNT_SWITCH = "celery.cache_resources_from_aws_config_for_account.{account_id}.enabled"


def describe_batch(batch: ConfigBatch | None) -> dict[str, Any]:
    if batch is None:
        return {}
    meta: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(len(batch.values)),
        "resource_types": dg.MetadataValue.json(batch.resource_types),
        "source": dg.MetadataValue.text(batch.source),
    }
    if batch.source == "aws_config":
        meta.update(
            {
                "rows_returned": dg.MetadataValue.int(batch.rows_returned),
                "rows_without_arn": dg.MetadataValue.int(batch.rows_without_arn),
                "regions_read": dg.MetadataValue.json(batch.regions_ok),
                "regions_failed": dg.MetadataValue.json(batch.regions_failed),
            }
        )
    return meta


def refresh_aws_config(
    context: dg.AssetExecutionContext,
    consoleme: ConsoleMeResource,
    aws_config_source: AwsConfigSource,
    publisher: Publisher | None = None,
) -> Iterator[dg.AssetMaterialization | dg.AssetObservation]:
    """Primary region: query AWS Config per account. Replica: copy the primary's per-account S3 files into
    Redis. Disabled accounts are neither queried nor touched: they get an observation saying so, not a
    materialization (their cache was not refreshed). After all accounts: ttl sweep and combined file."""
    settings = consoleme.settings
    store = ConfigCacheStore(consoleme.caches(), STORAGE)
    switches = settings.aws_config
    disabled = {a for a in context.partition_keys if not switches.enabled_for(a)}
    for account_id in sorted(disabled):
        switch = GLOBAL_SWITCH if switches.enabled is not None else ACCOUNT_SWITCH.format(account_id=account_id)
        yield dg.AssetObservation(
            asset_key=context.asset_key,
            partition=account_id,
            metadata={"skipped": dg.MetadataValue.text(f"disabled by {switch}: not queried, cache untouched")},
        )
    if switches.enabled is False:  # as ConsoleMe's parent task: no refresh, no sweep, no combined file
        context.log.info(f"{GLOBAL_SWITCH} is false: AWS Config resources are not cached")
        return
    if disabled:
        context.log.info(f"AWS Config caching disabled for {len(disabled)} account(s): {', '.join(sorted(disabled))}")

    def collect(account_id: str) -> ConfigBatch | None:
        if account_id in disabled:
            return None
        if settings.is_replica:
            return store.read_primary_copy(account_id)
        selection = aws_config_source.select(consoleme.sessions, settings, account_id)
        return config_batch(account_id, selection.rows, time.time(), selection.regions_read, selection.regions_failed)

    def write(account_id: str, batch: ConfigBatch | None) -> dict[str, Any]:
        if batch is None:
            return {}
        for region, error in batch.regions_failed.items():
            context.log.warning(
                f"account {account_id}: AWS Config query failed in {region} (its cached resources are kept): {error}"
            )
        plan = store.plan_account(batch)
        entries = plan.entries
        cached = len([a for a in entries.previous if a not in entries.keep])
        if publisher is not None:
            publisher.check(account_id, len(entries.deletes), cached)
        report = store.apply(plan)
        if publisher is not None and cached:  # an account's first refresh sets the baseline
            skip = {a for a in (*entries.previous, *entries.fresh) if is_aws_managed(a)}
            publisher.record_entries(
                account_id, "config_resource", entries.changes, entries.previous, entries.fresh, skip
            )
        counts = entries.changes.counts()
        return {**config_account_metadata(report), **Publisher.account_metadata(counts, entries.changes.first(10))}

    for event in refresh_accounts(
        context,
        collect=collect,
        write=write,
        max_workers=settings.tuning.max_concurrent_accounts,
        describe=describe_batch,
        finalize=lambda landed: config_run_metadata(store.write_combined(store.sweep_expired())),
        publisher=publisher,
    ):
        if event.partition not in disabled:
            yield event


def config_entries_problems(key: str, kind: str, sample: Iterable[tuple[str, str]]) -> list[str]:
    """`sample`: (ARN, raw value) pairs of AWSCONFIG_RESOURCE_CACHE: JSON objects with a numeric ttl."""
    out = []
    for arn, raw in sample:
        value, errs = decode(f"{key}[{arn}]", raw)
        if errs:
            out += errs
        elif not isinstance(value, dict) or not isinstance(value.get("ttl"), (int, float)):
            out.append(f"{key}[{arn}]: field 'ttl' is missing or not a number")
    return out[:MAX_PROBLEMS]


AWS_CONFIG_RESOURCES = Dataset(
    name="aws_config_resources",
    description="Every AWS Config resource of each account (SelectResourceConfig in every region, through the spoke "
    "role) -> Redis hash AWSCONFIG_RESOURCE_CACHE (field = ARN, value = ConsoleMe's un-wrapped item JSON with a 36 h "
    "ttl), DynamoDB consoleme_resource_cache, the per-account S3 file and the combined file.",
    group="aws_config",
    kinds={"aws", "redis", "s3", "dynamodb"},
    # :10, not :00: aws_accounts refreshes at :00, so new accounts have their partition by then.
    cadence=hourly_at(10),
    refresh=refresh_aws_config,
    resources={"aws_config_source": AwsConfigSource()},
    job="aws_config",
    consoleme_tasks=("cache_resources_from_aws_config_across_accounts", "cache_resources_from_aws_config_for_account"),
    storage=STORAGE,
    shape=Shape(config_entries_problems),
    record_kind="config_resource",
)
