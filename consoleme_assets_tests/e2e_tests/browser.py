"""The Dagster UI in headless Chromium (Debian's /usr/bin/chromium, driven by Python Playwright, which must
never download a browser of its own): the global asset graph and a partitioned asset's partitions page."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("E2E_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError("Chromium not found: `make test` installs Debian's chromium (apt-get install chromium)")


def _wait_for_text(page, pattern: str, timeout: float, interval: float = 1.0) -> str:
    """Poll the page's visible text every ``interval`` seconds until ``pattern`` matches; return the text (fail
    with its start)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text("body")
        if re.search(pattern, text, re.IGNORECASE | re.DOTALL):
            return text
        time.sleep(interval)
    raise AssertionError(f"{page.url}: /{pattern}/ not shown within {timeout:.0f}s; page text:\n{text[:3000]}")


@contextmanager
def chromium_page(artifacts: Path, failure_name: str = "failure") -> Iterator:
    """One headless Chromium page (a throwaway profile, 1600x1000); on failure, its screenshot and text go to
    ``artifacts/<failure_name>.png|txt``."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1000},
            timeout=120_000,
        )
        page = context.new_page()
        page.set_default_timeout(120_000)
        try:
            yield page
        except BaseException:
            try:
                page.screenshot(path=str(artifacts / f"{failure_name}.png"), full_page=True)
                (artifacts / f"{failure_name}.txt").write_text(page.inner_text("body"))
            except Exception:
                pass
            raise
        finally:
            context.close()


def check_ui(
    page, base_url: str, artifacts: Path, groups: dict[str, str], per_account_assets: list[str], accounts: list[str]
) -> dict[str, Path]:
    """The global asset graph, each per-account group's graph with partition counts, and a partitioned asset's
    partitions page; returns the screenshots."""
    n_accounts = len(accounts)
    shots = {}

    # The global asset graph: one node per asset group of the code location.
    page.goto(f"{base_url}/asset-groups", wait_until="domcontentloaded")
    for group in sorted(set(groups.values())):
        _wait_for_text(page, rf"\b{re.escape(group)}\b", 120)
    _dismiss_popups(page)
    time.sleep(2)  # let the layout finish animating before the screenshot
    shots["global"] = artifacts / "asset-graph-global.png"
    page.screenshot(path=str(shots["global"]))

    # Each group holding per-account assets, as a graph of its assets: every asset name is a node.
    for group in sorted({groups[a] for a in per_account_assets}):
        page.goto(
            f"{base_url}/locations/__repository__@consoleme_assets/asset-groups/{group}",
            wait_until="domcontentloaded",
        )
        for name in sorted(a for a, g in groups.items() if g == group):
            _wait_for_text(page, rf"\b{re.escape(name)}\b", 120)
        # Each per-account node of the group shows its partition count.
        in_group = [a for a in per_account_assets if groups[a] == group]
        pattern = rf"\b{n_accounts} partitions\b"
        text = _wait_for_text(page, "(" + pattern + ".*){" + str(len(in_group)) + "}", 120)
        assert len(re.findall(pattern, text)) == len(in_group), (group, in_group, text[:2000])
        _dismiss_popups(page)
        time.sleep(2)
        shots[group] = artifacts / f"asset-graph-{group}.png"
        page.screenshot(path=str(shots[group]))
        (artifacts / f"asset-graph-{group}.txt").write_text(page.inner_text("body"))

    # A partitioned asset's partitions page: the counts match the account partitions.
    asset = "s3_buckets" if "s3_buckets" in per_account_assets else per_account_assets[0]
    page.goto(f"{base_url}/assets/{asset}?view=partitions", wait_until="domcontentloaded")
    _wait_for_text(page, re.escape(asset), 120)
    _dismiss_popups(page)
    text = _wait_for_text(page, rf"\b{n_accounts}\s+partitions?\b", 120)
    text = _wait_for_text(page, rf"Materialized \({n_accounts}\)", 120)
    assert re.search(r"Failed \(0\)", text) and re.search(r"Missing \(0\)", text), text[:2000]
    missing = [a for a in accounts if a not in text]
    assert not missing, f"partition keys not listed on the partitions page: {missing}"
    time.sleep(2)
    shots["partitions"] = artifacts / f"{asset}-partitions.png"
    page.screenshot(path=str(shots["partitions"]))
    (artifacts / f"{asset}-partitions.txt").write_text(text)
    return shots


def _dismiss_popups(page) -> None:
    """Belt and braces: the community dialog is already dismissed through GraphQL (``setNuxSeen``)."""
    page.keyboard.press("Escape")
    for label in ("Skip", "Dismiss", "Got it", "Close"):
        buttons = page.get_by_role("button", name=label, exact=True)
        for i in range(buttons.count()):
            try:
                if buttons.nth(i).is_visible():
                    buttons.nth(i).click(timeout=2000)
            except Exception:
                pass


def screenshot_asset_page(
    base_url: str, artifacts: Path, asset: str, pattern: str, timeout: float = 90
) -> tuple[Path, str]:
    """The asset's page in headless Chromium, once its text matches ``pattern`` (e.g. its freshness state);
    returns the screenshot and the matched text. Fails (with a screenshot) if the text never shows."""
    shot = artifacts / f"{asset}-asset-page.png"
    with chromium_page(artifacts, f"{asset}-asset-page-failure") as page:
        page.goto(f"{base_url}/assets/{asset}", wait_until="domcontentloaded")
        _wait_for_text(page, re.escape(asset), timeout)
        _dismiss_popups(page)
        text = _wait_for_text(page, pattern, timeout)
        time.sleep(2)  # let the page finish rendering before the screenshot
        page.screenshot(path=str(shot), full_page=True)
        (artifacts / f"{asset}-asset-page.txt").write_text(text)
        return shot, re.search(pattern, text, re.IGNORECASE | re.DOTALL).group(0)
