"""Serve the dashboard and open every page of it in Debian's Chromium: the browser test and
``scripts/screenshots.py`` (the README's pictures) share this.

The pages are read from ``SECTIONS`` in ``dashboards/app.py`` without running it (importing the
app would start Streamlit): every ``st.Page(PAGES_DIR / "<file>.py", title=…)`` is one page, at
``/<file stem>`` (``st.Page``'s default URL path), but the default page, which is at ``/``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.servers import _wait_http, free_port

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDTH = 1400
MAX_HEIGHT = 4000  # a taller page is cut here: a README picture, not a scroll


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # "qc" for views/qc.py: the picture's name
    url_path: str  # "qc"; "" for the default page
    title: str
    section: str


def app_pages(app: Path = APP) -> list[Page]:
    """The pages of ``SECTIONS`` in the app's source, in navigation order."""
    tree = ast.parse(app.read_text())
    sections = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "SECTIONS" for t in n.targets))
    if not isinstance(sections, ast.Dict):
        raise ValueError(f"{app}: SECTIONS is not a dict literal")
    out = []
    for key, pages in zip(sections.keys, sections.values, strict=True):
        section = ast.literal_eval(key) if key is not None else ""
        for call in getattr(pages, "elts", []):
            if not (isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "Page"):
                continue
            kw = {k.arg: k.value.value for k in call.keywords
                  if isinstance(k.value, ast.Constant)}
            source = call.args[0]
            name = (source.right.value if isinstance(source, ast.BinOp)
                    else ast.literal_eval(source))
            stem = Path(name).stem
            url_path = "" if kw.get("default") else kw.get("url_path") or stem
            out.append(Page(stem, url_path, kw.get("title") or stem, section))
    return out


@contextmanager
def serve(lake_uri: str) -> Iterator[str]:
    """``seqledger dashboard`` on a free loopback port over ``lake_uri``; its base URL."""
    port = free_port()
    env = {**os.environ, "SEQLEDGER_LAKE": lake_uri}
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


def loopback_guard(left_loopback: list[str]) -> Callable[[Any], None]:
    """A Playwright route handler: requests to 127.0.0.1 (and data/blob URLs) go on; any other is
    aborted and its URL appended to ``left_loopback``, for the test to assert it stays empty."""
    def guard(route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            left_loopback.append(route.request.url)
            route.abort()
    return guard


@dataclass
class Shot:
    """What one page showed: its heading, the problems seen, and where its picture is."""

    page: Page
    png: Path
    heading: str = ""
    problems: list[str] = field(default_factory=list)


def _settle(page, timeout_ms: int) -> None:
    """Wait until the script run is over and every chart is drawn."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    # The status widget shows while a script runs, a spinner while a query reads: a second with
    # neither means the run is over.
    quiet = 0
    for _ in range(timeout_ms // 250):
        running = page.locator('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
                               '[data-testid="stSkeleton"]').count()
        quiet = 0 if running else quiet + 1
        if quiet >= 4:
            break
        page.wait_for_timeout(250)
    for chart in page.locator('[data-testid="stVegaLiteChart"]').all():
        chart.locator("canvas, svg").first.wait_for(timeout=timeout_ms)


def shoot(base_url: str, out_dir: Path, pages: list[Page] | None = None,
          timeout_ms: int = 90_000) -> tuple[list[Shot], list[str]]:
    """Open every page at its navigation URL, save ``<name>.png`` in ``out_dir``, and note what
    is wrong on it (an exception box, "Page not found", the page without the app's sidebar).
    Requests that leave the loopback are blocked and returned."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    left_loopback: list[str] = []
    guard = loopback_guard(left_loopback)

    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            for target in pages or app_pages():
                shot = Shot(target, out_dir / f"{target.name}.png")
                tab = browser.new_page(viewport={"width": WIDTH, "height": 1000})
                tab.route("**/*", guard)
                tab.goto(base_url + target.url_path)
                try:
                    _settle(tab, timeout_ms)
                    shot.heading = tab.locator('[data-testid="stMain"] h1').first.inner_text()
                except Exception as e:  # noqa: BLE001 - a page that never settles is a finding
                    shot.problems.append(f"did not finish rendering: {e}")
                if tab.get_by_text("Page not found").count():
                    shot.problems.append("Page not found")
                if not tab.locator('[data-testid="stSidebar"]').get_by_text("Lake:").count():
                    shot.problems.append("the page ran without the app around it (no sidebar)")
                for box in tab.locator('[data-testid="stException"]').all():
                    shot.problems.append("exception: " + box.inner_text()[:500])
                height = tab.evaluate(
                    "() => Math.max(...[...document.querySelectorAll("
                    "'[data-testid=stMain], [data-testid=stMainBlockContainer]')]"
                    ".map(e => e.scrollHeight), 0)")
                tab.set_viewport_size({"width": WIDTH, "height": min(max(int(height) + 80, 800),
                                                                     MAX_HEIGHT)})
                tab.wait_for_timeout(500)
                tab.screenshot(path=str(shot.png), full_page=True)
                tab.close()
                shots.append(shot)
        finally:
            browser.close()
    return shots, left_loopback
