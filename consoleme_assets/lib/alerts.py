"""What to alert on: pure functions from the previous and current states to the alerts to send.

One alert per asset and change. An asset's state on a tick is one `AssetStatus`: its level (the worse of its
asset-wide freshness and its accounts' levels) and its non-PASS accounts. Only a change of that state alerts,
with one message per asset naming the asset, its stale accounts, how stale, and the UI page: PASS/UNKNOWN ->
WARN/FAIL, WARN <-> FAIL, an account going stale (or staler), and WARN/FAIL -> PASS (recovery, naming every
account that was stale). Not news: accounts turning fresh while the asset stays stale (a refresh landing
account by account), and first sightings of PASS. The sensor (sensors.py) judges freshness itself with the FreshnessDaemon's rule,
so after a daemon restart it does not matter which of the two evaluates first: a stale asset alerts once, not
once for the sensor's view and again when Dagster's state catches up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

BAD = ("WARN", "FAIL")
ORDER = {"PASS": 0, "WARN": 1, "FAIL": 2}
MAX_LISTED = 20


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


def worst(*levels: str | None) -> str:
    """The worst of PASS/WARN/FAIL among `levels` (anything else, e.g. Dagster's UNKNOWN, is ignored);
    UNKNOWN when none is known."""
    known = [lv for lv in levels if lv in ORDER]
    return max(known, key=ORDER.__getitem__) if known else "UNKNOWN"


@dataclass(frozen=True)
class AssetStatus:
    """One asset on one tick. `accounts`: {account: (level, age_seconds or None if never refreshed)} of the
    accounts that are not PASS; `asset_level`: the asset-wide state (any partition counts), before accounts."""

    level: str  # PASS / WARN / FAIL / UNKNOWN (never materialized, not yet overdue)
    asset_level: str
    age_seconds: float | None
    accounts: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    total_accounts: int | None = None  # None: not partitioned
    warn_minutes: int | None = None
    fail_minutes: int | None = None

    def memo(self) -> dict[str, Any]:
        """What the cursor keeps to detect the next change."""
        return {"level": self.level, "accounts": {a: lv for a, (lv, _) in sorted(self.accounts.items())}}


def _changed(before: dict[str, Any] | None, now: AssetStatus) -> bool:
    """News: the level moved (PASS/WARN/FAIL, either way), or an account became stale or staler. Accounts
    turning fresh while the asset stays stale are progress, not news: a refresh lands account by account, and
    an alert per tick of it would bury the one that matters (the recovery, which names them all)."""
    was = (before or {}).get("level")
    if now.level not in BAD and was not in BAD:
        return False  # PASS / UNKNOWN after PASS / UNKNOWN / nothing: not news
    if was != now.level:
        return True
    was_accounts = (before or {}).get("accounts", {})
    return any(ORDER.get(lv, 0) > ORDER.get(was_accounts.get(a), -1) for a, (lv, _) in now.accounts.items())


def next_memo(previous: dict[str, Any] | None, now: AssetStatus, alerted: bool) -> dict[str, Any]:
    """What the cursor keeps for the next tick: the state last alerted on while the asset stays stale, so
    accounts recovering one by one are judged against it and the recovery alert names every one of them."""
    if alerted or previous is None or now.level not in BAD:
        return now.memo()
    return previous


def asset_alerts(previous: dict[str, dict[str, Any]], current: dict[str, AssetStatus], ui_base_url: str) -> list[Alert]:
    """At most one alert per asset: for each asset whose state (level or stale accounts) changed.
    `previous`: {asset: AssetStatus.memo()} from the last tick."""
    from .staleness import describe_age

    alerts = []
    for asset in sorted(current):
        status, before = current[asset], previous.get(asset)
        if not _changed(before, status):
            continue
        was = (before or {}).get("level")
        was_accounts: dict[str, str] = (before or {}).get("accounts", {})
        recovered = sorted(set(was_accounts) - set(status.accounts))
        newly = sorted(a for a, (lv, _) in status.accounts.items() if was_accounts.get(a) != lv)
        refreshed = (
            "never refreshed" if status.age_seconds is None else (f"last refreshed {describe_age(status.age_seconds)}")
        )
        parts = []
        if status.level == "PASS":
            parts.append(f"{asset} is fresh again (was {was}): {refreshed}")
        elif status.asset_level in BAD:
            parts.append(f"{asset} is stale, {status.level} (was {was or 'unknown'}): {refreshed}")
        else:
            parts.append(
                f"{asset} has stale accounts, {status.level} (was {was or 'unknown'}): "
                f"{refreshed} (its freshest account)"
            )
        if status.warn_minutes is not None and status.level != "PASS":
            parts.append(f"warn after {status.warn_minutes} min, fail after {status.fail_minutes} min")
        if status.accounts:
            listed = ", ".join(
                f"{a} {lv} ({describe_age(a_age)})" for a, (lv, a_age) in sorted(status.accounts.items())[:MAX_LISTED]
            )
            more = f" and {len(status.accounts) - MAX_LISTED} more" if len(status.accounts) > MAX_LISTED else ""
            of = f" of {status.total_accounts}" if status.total_accounts is not None else ""
            parts.append(f"{len(status.accounts)}{of} account(s) stale: {listed}{more}")
        if recovered:
            more = f" and {len(recovered) - MAX_LISTED} more" if len(recovered) > MAX_LISTED else ""
            parts.append(f"fresh again: {', '.join(recovered[:MAX_LISTED])}{more}")
        kind = "account_staleness" if status.level in BAD and status.asset_level not in BAD else "freshness"
        alerts.append(
            Alert(
                kind,
                asset,
                status.level,
                was,
                "; ".join(parts),
                asset_url(ui_base_url, asset),
                accounts=sorted(status.accounts) if status.level != "PASS" else recovered,
                details={
                    "age_seconds": status.age_seconds,
                    "asset_state": status.asset_level,
                    "accounts": {
                        a: {"level": lv, "age_seconds": a_age} for a, (lv, a_age) in sorted(status.accounts.items())
                    },
                    "newly_stale_accounts": newly,
                    "recovered_accounts": recovered,
                    "total_accounts": status.total_accounts,
                    "warn_minutes": status.warn_minutes,
                    "fail_minutes": status.fail_minutes,
                },
            )
        )
    return alerts


def describe_regional_errors(regional: dict[str, dict[str, str]], limit: int = MAX_LISTED) -> str:
    """'111122223333 us-west-2: AccessDenied ...; ...' for {account: {region: error}} (pure)."""
    pairs = [(a, r, e) for a, regions in sorted(regional.items()) for r, e in sorted(regions.items())]
    text = "; ".join(f"{a} {r}: {e}" for a, r, e in pairs[:limit])
    return text + (f"; and {len(pairs) - limit} more" if len(pairs) > limit else "")


def run_failure_alerts(run_id: str, job_name: str, failures: list[dict[str, Any]], ui_base_url: str) -> list[Alert]:
    """One alert per failed step (asset) of a failed run, naming its failed accounts and the regions that failed
    in accounts that otherwise landed (SQS/SNS/Config: those regions kept their previous entries); one for the
    run if no step failed (e.g. the run could not start).
    `failures`: [{"asset", "error", "failed_accounts": {acct: error}, "regional_errors": {acct: {region: error}}}]."""
    if not failures:
        return [
            Alert(
                "run_failure",
                None,
                "FAILURE",
                None,
                f"run {run_id} of {job_name} failed",
                run_url(ui_base_url, run_id),
                details={"job": job_name, "run_id": run_id},
            )
        ]
    alerts = []
    for failure in failures:
        accounts = sorted(failure.get("failed_accounts") or {})
        regional = failure.get("regional_errors") or {}
        asset = failure["asset"]
        where = f" for account(s) {', '.join(accounts[:MAX_LISTED])}" if accounts else ""
        text = f"{asset} failed{where} in run {run_id} ({job_name}): {failure.get('error') or 'no error text'}"
        if regional:
            text += f"; regions that failed (previous entries kept): {describe_regional_errors(regional)}"
        alerts.append(
            Alert(
                "run_failure",
                asset,
                "FAILURE",
                None,
                text,
                run_url(ui_base_url, run_id),
                accounts=accounts,
                details={
                    "job": job_name,
                    "run_id": run_id,
                    "asset_url": asset_url(ui_base_url, asset),
                    "failed_accounts": failure.get("failed_accounts") or {},
                    "regional_errors": regional,
                },
            )
        )
    return alerts
