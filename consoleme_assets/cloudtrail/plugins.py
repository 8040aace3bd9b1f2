"""Where CloudTrail error counts come from: a plugin named by `consoleme_assets.plugins.cloudtrail_errors`.

"default" is the built-in source (the consoleme_cloudtrail table ConsoleMe's cache_cloudtrail_denies fills);
any other name is an entry point in the group `consoleme_assets.plugins`, e.g. in a plugin package:

    [project.entry-points."consoleme_assets.plugins"]
    my_cloudtrail_errors = "my_package.cloudtrail:errors_by_arn"

A source is a callable taking a `CloudTrailErrorsContext` and returning `{principal_arn: error_count}`.
It is resolved (by the shared `consoleme_assets.lib.plugins.load_plugin`) when the asset runs, so a missing
plugin fails that run, naming the entry point, and leaves the cached counts as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..aws.sessions import AwsSessions
from ..lib.plugins import GROUP, PluginError, load_plugin
from ..settings import Settings
from ..stores.caches import ConsoleMeCaches
from .records import count_errors_by_arn

BUILTIN = "default"
SETTING = "consoleme_assets.plugins.cloudtrail_errors"


@dataclass(frozen=True)
class CloudTrailErrorsContext:
    """What a source gets: settings, AWS sessions, ConsoleMe's stores, the time (UTC epoch) and a logger.
    A source may add entries to `report`; they appear in the materialization's metadata."""

    settings: Settings
    sessions: AwsSessions
    caches: ConsoleMeCaches
    now: float
    log: logging.Logger
    report: dict[str, Any] = field(default_factory=dict)


CloudTrailErrorsSource = Callable[[CloudTrailErrorsContext], Mapping[str, int]]


def dynamodb_cloudtrail_errors(context: CloudTrailErrorsContext) -> dict[str, int]:
    """The built-in source: error counts per principal from the CloudTrail table (`aws.cloudtrail_table`),
    without the items whose `ttl` has passed."""
    table = context.settings.tables.cloudtrail
    items = context.caches.scan_table(table)
    counts = count_errors_by_arn(items, context.now)
    context.report.update(
        {
            "table": table,
            "table_items": len(items),
            "expired_items_skipped": counts.expired_items,
            "items_without_arn_skipped": counts.items_without_arn,
        }
    )
    return counts.by_arn


def cloudtrail_errors_source(name: str) -> CloudTrailErrorsSource:
    """The source configured as `name`: the built-in for "default", else the entry point of that name."""
    if name == BUILTIN:
        return dynamodb_cloudtrail_errors
    source = load_plugin(name, SETTING)
    if not callable(source):
        raise PluginError(f"{SETTING}: entry point {name!r} ({GROUP}) is a {type(source).__name__}, not a callable")
    return source
