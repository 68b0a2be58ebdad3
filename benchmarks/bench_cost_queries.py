"""Each query the Cost page runs on first render, default filters, on a lake already built (e.g. a
copy of the seed-scale year with its cost rollups), each in its own process with a time limit.

    nice -n 10 .venv/bin/python benchmarks/bench_cost_queries.py --lake /path/to/lake

Printed per query: wall seconds of one cold call (the engine opened beforehand, not counted),
rows returned, and the ratio to ``by_component`` (which reads the ``costs_monthly`` rollup)
measured in the same run; ``timeout`` when a query does not finish within ``--timeout``.
A process per query so a slow one can be stopped without losing the others' figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

# (label, function, extra arguments): the page's first render in its order (dashboards/views/
# cost.py), then what it reads only when asked (toggles) or read before issue 14's round.
CALLS = [
    ("over_time month", "over_time", ("month",)),
    ("by_component", "by_component", ()),
    ("assumed_prices", "assumed_prices", ()),
    ("per_sample without billed", "per_sample", ("False",)),
    ("savings", "savings", ()),
    ("reconciliation", "reconciliation", ()),
    ("untagged_by_service", "untagged_by_service", ()),
    ("automation", "automation", ()),
    ("over_time month by project", "over_time", ("month", "project")),
    ("asked: per_sample with billed", "per_sample", ()),
    ("asked: untagged", "untagged", ()),
]
BASELINE = "by_component"


def one(lake: str, fn: str, args: list[str]) -> None:
    """Child: open the engine, time one call, print ``seconds rows``."""
    from analytics import cost_trends
    from analytics.engine import open_engine
    from analytics.filters import Filters
    from lake.settings import Settings

    engine = open_engine(Settings(lake_uri=lake))
    t = time.perf_counter()
    values = [{"True": True, "False": False}.get(a, a) for a in args]
    rows = getattr(cost_trends, fn)(engine, Filters(), *values).num_rows
    print(f"{time.perf_counter() - t:.3f} {rows}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        one(args.lake, args.one[0], args.one[1:])
        return
    figures: dict[str, tuple[float, int] | None] = {}
    for label, fn, extra in CALLS:
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--lake", args.lake, "--one", fn, *extra],
                capture_output=True, text=True, timeout=args.timeout, check=True).stdout.split()
            figures[label] = (float(out[-2]), int(out[-1]))
        except subprocess.TimeoutExpired:
            figures[label] = None
    base = figures.get(BASELINE)
    print(f"{'query':<28} {'seconds':>9} {'rows':>9} {'x ' + BASELINE:>16}")
    for label, got in figures.items():
        if got is None:
            print(f"{label:<28} {'timeout':>9} {'':>9} {f'> {args.timeout:.0f} s':>16}")
            continue
        ratio = f"{got[0] / base[0]:.1f}" if base else "—"
        print(f"{label:<28} {got[0]:>9.2f} {got[1]:>9,} {ratio:>16}")


if __name__ == "__main__":
    main()
