"""Freshness windows from each dataset's cadence, and applying them to the code location's assets.

Rule (minutes): warn = cadence + clamp(cadence / 3, 5, 120): one scheduled run is late by a third of the
cadence (a run takes a few minutes; a third is slack enough not to page on a slow run);
fail = min(2 * cadence + 10, cadence + 360): two consecutive runs were missed (capped at 6 h late for
the daily dataset). So 5 -> 10/20, 30 -> 40/70, 45 -> 60/100, 60 -> 80/130, 1440 -> 1560/1800 (26 h/30 h).
Each window can be overridden per asset with `consoleme_assets.freshness.<asset>.{warn_minutes,fail_minutes}`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg
from dagster.preview.freshness import apply_freshness_policy

from ..settings import Settings

# ConsoleMe's beat interval for the task each asset replaces (spec §1.4), in minutes.
CADENCE_MINUTES: dict[str, int] = {
    "aws_accounts": 60,
    "iam_resources": 45,
    "s3_buckets": 45,
    "sqs_queues": 45,
    "sns_topics": 45,
    "managed_policies": 45,
    "aws_config_resources": 60,
    "policies_table": 30,
    "policy_requests": 5,
    "credential_authorization_mapping": 5,
    "reverse_authorization_mapping": 5,
    "cloudtrail_errors_by_arn": 60,
    "service_control_policies": 60,
    "organization_structure": 60,
    "iam_role_limits": 24 * 60,
    "cloudtrail_denies": 60,  # drained every minute when enabled; the hourly run keeps it fresh when quiet
    "templated_resources": 30,
    "self_service_typeahead": 30,
    "notifications": 10,
}
# An asset added later without an entry here still gets a policy rather than none (hourly is the common case).
DEFAULT_CADENCE_MINUTES = 60


@dataclass(frozen=True)
class Window:
    warn_minutes: int
    fail_minutes: int

    @property
    def warn_seconds(self) -> float:
        return self.warn_minutes * 60.0

    @property
    def fail_seconds(self) -> float:
        return self.fail_minutes * 60.0

    def policy(self) -> dg.FreshnessPolicy:
        return dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(minutes=self.fail_minutes), warn_window=dt.timedelta(minutes=self.warn_minutes)
        )


def window_for_cadence(cadence_minutes: int) -> Window:
    warn = cadence_minutes + min(max(cadence_minutes // 3, 5), 120)
    fail = min(2 * cadence_minutes + 10, cadence_minutes + 360)
    return Window(warn, fail)


def window_for(name: str, settings: Settings) -> Window:
    """One asset's window: the cadence rule, then its override in the settings."""
    base = window_for_cadence(CADENCE_MINUTES.get(name, DEFAULT_CADENCE_MINUTES))
    override = settings.observability.freshness.get(name)
    warn = override.warn_minutes if override and override.warn_minutes is not None else base.warn_minutes
    fail = override.fail_minutes if override and override.fail_minutes is not None else base.fail_minutes
    if warn >= fail:  # one side overridden past the other's default
        raise ValueError(
            f"consoleme_assets.freshness.{name}: warn window {warn} min must be less than fail window {fail} min"
        )
    return Window(warn, fail)


def freshness_windows(asset_names: list[str], settings: Settings) -> dict[str, Window]:
    """The window of every asset: the cadence rule, then the settings' overrides (checked against the assets)."""
    overrides = settings.observability.freshness
    unknown = sorted(set(overrides) - set(asset_names))
    if unknown:
        raise ValueError(
            f"consoleme_assets.freshness names unknown asset(s) {', '.join(unknown)}; known: {', '.join(sorted(asset_names))}"
        )
    return {name: window_for(name, settings) for name in asset_names}


def materializable_asset_names(defs: dg.Definitions) -> list[str]:
    return sorted(
        s.key.to_user_string() for s in defs.resolve_all_asset_specs() if not s.metadata.get("dagster/external")
    )


def with_freshness(defs: dg.Definitions, settings: Settings) -> dg.Definitions:
    """`defs` with a time-window freshness policy on every asset (replacing any set in code)."""
    windows = freshness_windows(materializable_asset_names(defs), settings)

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        window = windows.get(spec.key.to_user_string())
        return apply_freshness_policy(spec, window.policy()) if window else spec

    return defs.map_asset_specs(func=apply)
