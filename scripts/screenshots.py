"""Photograph every dashboard page over the demo's lake for the README: docs/screenshots/<page>.png.

    make screenshots                                   # plays the demo, then this
    uv run python scripts/screenshots.py [--lake .seqledger/lake] [--out docs/screenshots]

The same browser run as the test (``tests/dashboards/browser.py``): ``seqledger dashboard`` on a
loopback port, Debian's Chromium, every page of ``SECTIONS`` at its navigation URL, requests off
the loopback blocked; and the QC page on one sample (``qc-sample.png``). A page with an exception
box, "Page not found" or that never settles is named on stderr and the exit status is 1 (its
picture is still written, to look at). Exit 3 when the lake or Chromium is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.dashboards.browser: the test's own browser code

from lake.settings import DEFAULT_LAKE, Settings  # noqa: E402
from tests.dashboards.browser import CHROMIUM, Page, app_pages, serve, shoot  # noqa: E402


def sample_view(lake: str) -> Page | None:
    """The QC page opened on one sample (``qc-sample.png``): the newest that failed QC."""
    from analytics.engine import open_engine
    from analytics.filters import Filters
    from analytics.qc import gated_samples

    engine = open_engine(Settings(lake_uri=lake))
    try:
        failed = [s for s in gated_samples(engine, Filters()) if s["verdict"] == "fail"]
    finally:
        engine.close()
    return (Page("qc-sample", f"qc?sample={failed[0]['sample_id']}", "QC: one sample", "Quality")
            if failed else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default=str(ROOT / DEFAULT_LAKE),
                        help="the lake to show (default: the demo's, .seqledger/lake)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"),
                        help="folder for <page>.png (default: docs/screenshots)")
    args = parser.parse_args(argv)
    lake = Path(args.lake)
    if not args.lake.startswith("s3://") and not lake.is_dir():
        print(f"screenshots: no lake at {lake}: run `make demo` first, or give --lake",
              file=sys.stderr)
        return 3
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing: `make system` installs it", file=sys.stderr)
        return 3
    pages = app_pages() + [p for p in (sample_view(args.lake),) if p]
    with serve(args.lake) as url:
        shots, left = shoot(url, Path(args.out), pages)
    for s in shots:
        print(f"{s.png.relative_to(ROOT) if s.png.is_relative_to(ROOT) else s.png}  "
              f"{s.page.title}: {s.heading or '?'}")
    bad = [s for s in shots if s.problems]
    for s in bad:
        print(f"screenshots: page {s.page.name}: {'; '.join(s.problems)}", file=sys.stderr)
    if left:
        print(f"screenshots: blocked {len(left)} requests off the loopback, e.g. {left[0]}",
              file=sys.stderr)
    return 1 if bad or left else 0


if __name__ == "__main__":
    sys.exit(main())
