"""The real thing: ``seqledger dashboard`` serving the app, Debian's Chromium driving it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqledger.cli import main
from tests.analytics.overview_lake import write_overview_lake
from tests.dashboards.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    app_pages,
    loopback_guard,
    serve,
    shoot,
)
from tests.servers import free_port


def test_dashboard_check_starts_and_answers_health(lake_settings, monkeypatch):
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    out = CliRunner().invoke(main, ["dashboard", "--check", "--port", str(free_port())])
    assert out.exit_code == 0, out.output
    assert "dashboard healthy on 127.0.0.1:" in out.output


@pytest.fixture
def served(lake_settings):
    """``seqledger dashboard`` on a free loopback port over a lake with data; stopped after."""
    write_overview_lake(lake_settings)
    with serve(lake_settings.lake_uri) as url:
        yield url


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system` (apt-get install chromium) installs it")


@pytest.mark.browser
def test_overview_renders_in_chromium_and_stays_on_loopback(served, tmp_path):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    left_loopback: list[str] = []
    guard = loopback_guard(left_loopback)

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


def test_the_pages_are_read_from_the_app_sections():
    pages = app_pages()
    assert (pages[0].name, pages[0].url_path, pages[0].title) == ("overview", "", "Overview")
    assert {("qc", "QC"), ("releases", "Releases")} <= {(p.url_path, p.title) for p in pages}
    assert len({p.url_path for p in pages}) == len(pages)


@pytest.mark.browser
def test_every_page_opens_without_an_error_and_is_photographed(served, tmp_path):
    """Each page of SECTIONS at its navigation URL: no exception box, no "Page not found", a
    heading, a screenshot in the test's output (copied to $SEQLEDGER_SCREENSHOTS if set)."""
    _need_chromium()
    shots, left_loopback = shoot(served, tmp_path / "screenshots")
    assert [s.page.name for s in shots] == [p.name for p in app_pages()]
    assert {s.page.name: s.problems for s in shots if s.problems} == {}
    for s in shots:
        assert s.heading, f"{s.page.name}: no heading"
        assert s.png.stat().st_size > 10_000, f"{s.png} looks blank"
    headings = {s.page.name: s.heading for s in shots}
    assert headings["qc"] == "QC" and headings["releases"] == "Releases"
    assert left_loopback == []
    if keep := os.environ.get("SEQLEDGER_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        for s in shots:
            (Path(keep) / s.png.name).write_bytes(s.png.read_bytes())
