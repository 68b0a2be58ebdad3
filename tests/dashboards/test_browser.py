"""The real thing: ``seqledger dashboard`` serving the app, Debian's Chromium driving it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from seqledger.cli import main
from tests.analytics.overview_lake import write_overview_lake
from tests.servers import _wait_http, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def test_dashboard_check_starts_and_answers_health(lake_settings, monkeypatch):
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    out = CliRunner().invoke(main, ["dashboard", "--check", "--port", str(free_port())])
    assert out.exit_code == 0, out.output
    assert "dashboard healthy on 127.0.0.1:" in out.output


@pytest.fixture
def served(lake_settings):
    """``seqledger dashboard`` on a free loopback port over a lake with data; stopped after."""
    write_overview_lake(lake_settings)
    port = free_port()
    env = {**os.environ, "SEQLEDGER_LAKE": lake_settings.lake_uri}
    seqledger = Path(sys.executable).parent / "seqledger"  # the installed console script
    proc = subprocess.Popen([str(seqledger), "dashboard", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.browser
def test_overview_renders_in_chromium_and_stays_on_loopback(served, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system` (apt-get install chromium) installs it")
    from playwright.sync_api import sync_playwright

    left_loopback: list[str] = []

    def guard(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            left_loopback.append(route.request.url)
            route.abort()

    shot = tmp_path / "overview.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1700})
            page.route("**/*", guard)
            page.goto(served)
            page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",
                                   timeout=60_000)
            page.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, '
                                   '[data-testid="stVegaLiteChart"] svg', timeout=30_000)
            metrics = {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
                       m.locator('[data-testid="stMetricValue"]').inner_text().strip()
                       for m in page.locator('[data-testid="stMetric"]').all()}
            page.screenshot(path=str(shot), full_page=True)
            heading = page.locator("h1").first.inner_text()
        finally:
            browser.close()
    assert heading.startswith("DRAGEN runs overview")
    assert metrics["Runs"] == "5" and metrics["Spot reclaims"] == "3"
    assert metrics["Estimated cost"] == "$11.60"
    assert shot.stat().st_size > 20_000
    assert left_loopback == []
    if os.environ.get("SEQLEDGER_KEEP_SCREENSHOT"):
        Path(os.environ["SEQLEDGER_KEEP_SCREENSHOT"]).write_bytes(shot.read_bytes())
