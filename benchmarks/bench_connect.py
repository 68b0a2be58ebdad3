"""Opening the lake (``analytics.engine.connect``), alone and with a page's first question.

    uv run python benchmarks/bench_connect.py --lake PATH [--repeat 3]

Every dashboard page and report pays it once. A view over a table reads the footers of all that
table's files when it is bound. Measured in one process, alternated so the machine's load hits
each alike, median of ``--repeat``:

- eager: every view made at connect, as before (``engine.LAZY = False``), footers cached;
- eager, footers read per view (``engine.CACHE_FOOTERS = False`` too): the older baseline;
- lazy (seqledger): a view made when a statement first names it (``analytics.lazy_views``).

For each: connect alone, and connect then the question every page asks first (the sidebar's
filter options, ``analytics.queries.filter_options``: the runs and costs rollups), and the views
that question made. Point it at a year built by ``bench_year.py`` (e.g.
``<cache>/jobs-500000/lake``); it only reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]  # the project, from anywhere

from analytics import engine  # noqa: E402
from analytics.queries import filter_options  # noqa: E402
from lake.settings import Settings  # noqa: E402

MODES = {  # label: (LAZY, CACHE_FOOTERS)
    "eager, footers per view": (False, False),
    "eager (before)": (False, True),
    "lazy (seqledger)": (True, True),
}


def timed(lake: Path, lazy: bool, cache_footers: bool, ask: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds of a connect (and the first question when ``ask``); views made."""
    engine.LAZY, engine.CACHE_FOOTERS = lazy, cache_footers
    wall, cpu = time.perf_counter(), time.process_time()
    con = engine.connect(Settings(lake_uri=str(lake)))
    if ask:
        filter_options(con)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    made = len(con.views.made())
    con.close()
    return wall, cpu, made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, required=True, help="a lake folder (only read)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.lake.is_dir():
        ap.error(f"--lake {args.lake}: not a folder")
    files = sum(1 for _ in args.lake.rglob("*.parquet"))
    print(f"lake {args.lake}: {files:,} Parquet files; load {os.getloadavg()[0]:.1f}")
    runs: dict[tuple[str, bool], list[tuple[float, float, int]]] = {}
    for _ in range(args.repeat):
        for ask in (False, True):
            for label, (lazy, cache) in MODES.items():  # alternated
                runs.setdefault((label, ask), []).append(timed(args.lake, lazy, cache, ask))
    med = {k: (statistics.median(w for w, _, _ in r), statistics.median(c for _, c, _ in r),
               r[-1][2]) for k, r in runs.items()}
    for ask, what in ((False, "connect"), (True, "connect + filter options")):
        print(f"\n{what:<28}{'wall s':>8}{'CPU s':>8}{'views made':>12}")
        for label in MODES:
            w, c, n = med[(label, ask)]
            print(f"{label:<28}{w:>8.2f}{c:>8.2f}{n:>12}")
        (bw, bc, _), (lw, lc, _) = med[("eager (before)", ask)], med[("lazy (seqledger)", ask)]
        print(f"eager / lazy: {bw / lw:.2f}x wall, {bc / lc:.2f}x CPU "
              f"(median of {args.repeat}, alternated)")
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
