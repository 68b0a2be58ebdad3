"""Opening the lake (``analytics.engine.connect``): every table's view, the SQL views, the rollups.

    uv run python benchmarks/bench_connect.py --lake PATH [--repeat 3]

Every dashboard page and report pays it once. Creating a view binds it, and a view over a table
reads the footers of all that table's files; the baseline is the same connect with DuckDB's
Parquet footer cache off (``engine.CACHE_FOOTERS = False``), alternated with ours in one process.
Prints wall and CPU per connect (median of ``--repeat``) and the ratio. Point it at a year built
by ``bench_year.py`` (e.g. ``<cache>/jobs-500000/lake``); it only reads.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from analytics import engine
from lake.settings import Settings


def timed_connect(lake: Path, cache_footers: bool) -> tuple[float, float]:
    engine.CACHE_FOOTERS = cache_footers
    wall, cpu = time.perf_counter(), time.process_time()
    engine.connect(Settings(lake_uri=str(lake))).close()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, required=True, help="a lake folder (only read)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.lake.is_dir():
        ap.error(f"--lake {args.lake}: not a folder")
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.repeat):
        for cache in (False, True):  # alternated: the machine's load hits both alike
            runs[cache].append(timed_connect(args.lake, cache))
    med = {c: (statistics.median(w for w, _ in r), statistics.median(p for _, p in r))
           for c, r in runs.items()}
    print(f"{'connect':<28}{'wall s':>8}{'CPU s':>8}")
    print(f"{'footers read per view':<28}{med[False][0]:>8.2f}{med[False][1]:>8.2f}")
    print(f"{'footers cached (seqledger)':<28}{med[True][0]:>8.2f}{med[True][1]:>8.2f}")
    wall, cpu = med[False][0] / med[True][0], med[False][1] / med[True][1]
    print(f"ratio: {wall:.2f}x wall, {cpu:.2f}x CPU (median of {args.repeat}, alternated)")


if __name__ == "__main__":
    main()
