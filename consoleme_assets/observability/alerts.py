"""What to alert on: pure functions from the previous and current states to the alerts to send.

One alert per change: a state is remembered (in a sensor cursor) and only a transition produces an alert.
Freshness: PASS/UNKNOWN -> WARN/FAIL, WARN <-> FAIL, and WARN/FAIL -> PASS (recovery). Accounts: the same per
(asset, account), grouped into one alert per asset and transition so a whole run of stale accounts is one
message, not a thousand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

BAD = ("WARN", "FAIL")


@dataclass(frozen=True)
class Alert:
    kind: str  # "freshness" | "account_staleness" | "run_failure"
    asset: str | None
    state: str  # WARN / FAIL / PASS (recovered) / FAILURE (run)
    previous_state: str | None
    message: str
    url: str
    accounts: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        what = self.asset or self.details.get("job") or "consoleme-assets"
        return f"[consoleme-assets] {what}: {self.state}"[:100]  # SNS subjects are capped at 100 characters

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "subject": self.subject}


def asset_url(ui_base_url: str, asset: str) -> str:
    return f"{ui_base_url.rstrip('/')}/assets/{'/'.join(quote(p) for p in asset.split('/'))}"


def run_url(ui_base_url: str, run_id: str) -> str:
    return f"{ui_base_url.rstrip('/')}/runs/{run_id}"


def _is_change(previous: str | None, current: str) -> bool:
    if current in BAD:
        return previous != current
    return current == "PASS" and previous in BAD  # recovery; first sightings of PASS are not news


def freshness_alerts(
    previous: dict[str, str], current: dict[str, str], ages: dict[str, float | None], ui_base_url: str
) -> list[Alert]:
    """Asset-level freshness transitions (states are Dagster's FreshnessState values)."""
    from .staleness import describe_age

    alerts = []
    for asset in sorted(current):
        before, now = previous.get(asset), current[asset]
        if not _is_change(before, now):
            continue
        age = describe_age(ages.get(asset))
        text = (
            f"{asset} is fresh again (last refreshed: {age})" if now == "PASS"
            else f"{asset} freshness is {now} (was {before or 'unknown'}): last refreshed {age}"
        )
        alerts.append(Alert("freshness", asset, now, before, text, asset_url(ui_base_url, asset),
                            details={"age_seconds": ages.get(asset)}))
    return alerts


def account_alerts(
    previous: dict[str, dict[str, str]],
    current: dict[str, dict[str, str]],
    ages: dict[str, dict[str, float | None]],
    ui_base_url: str,
) -> list[Alert]:
    """Per-account transitions. States map account -> level; an account absent from a map is PASS (cursors
    keep only the non-PASS ones). Accounts that left the partitions are dropped silently."""
    from .staleness import describe_age

    alerts = []
    for asset in sorted(current):
        before_map, now_map = previous.get(asset, {}), current[asset]
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for account in sorted(set(before_map) | set(now_map)):
            if account not in now_map and account not in ages.get(asset, {}):
                continue  # no longer a partition
            before, now = before_map.get(account, "PASS"), now_map.get(account, "PASS")
            if before != now and (now in BAD or before in BAD):
                groups[(before, now)].append(account)
        for (before, now), accounts in sorted(groups.items()):
            listed = ", ".join(f"{a} ({describe_age(ages.get(asset, {}).get(a))})" for a in accounts[:20])
            more = f" and {len(accounts) - 20} more" if len(accounts) > 20 else ""
            if now == "PASS":
                text = f"{asset}: {len(accounts)} account(s) fresh again: {listed}{more}"
            else:
                text = f"{asset}: {len(accounts)} account(s) {now} (was {before}): {listed}{more}"
            alerts.append(Alert(
                "account_staleness", asset, now, before, text, asset_url(ui_base_url, asset), accounts=accounts,
                details={"age_seconds": {a: ages.get(asset, {}).get(a) for a in accounts}},
            ))
    return alerts


def run_failure_alerts(
    run_id: str, job_name: str, failures: list[dict[str, Any]], ui_base_url: str
) -> list[Alert]:
    """One alert per failed step (asset) of a failed run, naming its failed accounts; one for the run if no step
    failed (e.g. the run could not start). `failures`: [{"asset", "error", "failed_accounts": {acct: error}}]."""
    if not failures:
        return [Alert("run_failure", None, "FAILURE", None, f"run {run_id} of {job_name} failed",
                      run_url(ui_base_url, run_id), details={"job": job_name, "run_id": run_id})]
    alerts = []
    for failure in failures:
        accounts = sorted(failure.get("failed_accounts") or {})
        asset = failure["asset"]
        where = f" for account(s) {', '.join(accounts[:20])}" if accounts else ""
        alerts.append(Alert(
            "run_failure", asset, "FAILURE", None,
            f"{asset} failed{where} in run {run_id} ({job_name}): {failure.get('error') or 'no error text'}",
            run_url(ui_base_url, run_id), accounts=accounts,
            details={"job": job_name, "run_id": run_id, "asset_url": asset_url(ui_base_url, asset),
                     "failed_accounts": failure.get("failed_accounts") or {}},
        ))
    return alerts


def bad_only(states: dict[str, Any]) -> dict[str, str]:
    """The compact form kept in a cursor: only the accounts that are not PASS."""
    return {account: level for account, level in states.items() if level in BAD}
