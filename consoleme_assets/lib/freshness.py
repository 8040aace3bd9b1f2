"""Freshness windows from each dataset's declared cadence (lib/datasets.py); lib/definitions.py puts each on its
dataset's asset as a `FreshnessPolicy`.

Rule (minutes): warn = cadence + clamp(cadence / 3, 5, 120): one scheduled run is late by a third of the
cadence (a run takes a few minutes; a third is slack enough not to page on a slow run);
fail = min(2 * cadence + 10, cadence + 360): two consecutive runs were missed (capped at 6 h late for
the daily dataset). So 5 -> 10/20, 30 -> 40/70, 45 -> 60/100, 60 -> 80/130, 1440 -> 1560/1800 (26 h/30 h).
Each window can be overridden per asset with `consoleme_assets.freshness.<asset>.{warn_minutes,fail_minutes}`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from ..settings import Settings
from .datasets import Dataset


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


def window_for(dataset: Dataset, settings: Settings) -> Window:
    """One dataset's window: the rule applied to its declared cadence, then its override in the settings."""
    name = dataset.name
    base = window_for_cadence(dataset.cadence.minutes)
    override = settings.observability.freshness.get(name)
    warn = override.warn_minutes if override and override.warn_minutes is not None else base.warn_minutes
    fail = override.fail_minutes if override and override.fail_minutes is not None else base.fail_minutes
    if warn >= fail:  # one side overridden past the other's default
        raise ValueError(
            f"consoleme_assets.freshness.{name}: warn window {warn} min must be less than fail window {fail} min"
        )
    return Window(warn, fail)


def freshness_windows(datasets: Mapping[str, Dataset], asset_names: list[str], settings: Settings) -> dict[str, Window]:
    """The window of every asset, from its dataset's declaration, then the settings' overrides (checked against
    the assets)."""
    undeclared = sorted(set(asset_names) - set(datasets))
    if undeclared:
        raise ValueError(f"asset(s) {', '.join(undeclared)} have no dataset declaration (a domain's datasets.py)")
    overrides = settings.observability.freshness
    unknown = sorted(set(overrides) - set(asset_names))
    if unknown:
        raise ValueError(
            f"consoleme_assets.freshness names unknown asset(s) {', '.join(unknown)}; known: {', '.join(sorted(asset_names))}"
        )
    return {name: window_for(datasets[name], settings) for name in asset_names}


def materializable_asset_names(defs: dg.Definitions) -> list[str]:
    return sorted(
        s.key.to_user_string() for s in defs.resolve_all_asset_specs() if not s.metadata.get("dagster/external")
    )
