"""The Runs page's table with no date range: the months of its newest runs (seqledger) against a
window over every run status row of the lake (the baseline), alternated in one process.

    uv run python benchmarks/bench_runs_table.py --lake PATH [--repeat 5]

``analytics.runs.runs_table`` asks ``runs_daily`` which months hold the newest ``limit`` runs and
how many runs there are, then windows those months only; the baseline is the same function with
that step turned off (every month windowed, the count from the window). Both on one connection
(views made, footers read, before the first timing). Prints the median wall and CPU of each and
the ratio. Point it at a year built by ``bench_year.py``; it only reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]  # the project, from anywhere

from analytics import runs  # noqa: E402
from analytics.engine import open_engine  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from lake.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, required=True, help="a lake folder (only read)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    eng = open_engine(Settings(lake_uri=str(args.lake)))
    pruned = runs._newest

    def timed(prune: bool) -> tuple[float, float, int]:
        runs._newest = pruned if prune else (lambda *a: None)
        wall, cpu = time.perf_counter(), time.process_time()
        page = runs.runs_table(eng, Filters())
        return time.perf_counter() - wall, time.process_time() - cpu, page.total

    timed(True), timed(False)  # views made, footers read: both timings pay only the query
    out: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
    for _ in range(args.repeat):
        for prune in (False, True):
            out[prune].append(timed(prune))
    assert {t for _, _, t in out[False]} == {t for _, _, t in out[True]}, "totals differ"
    print(f"lake {args.lake}: {out[True][0][2]:,} runs; load {os.getloadavg()[0]:.1f}")
    print(f"{'runs_table, no date range':<34}{'wall s':>8}{'CPU s':>8}")
    med = {}
    for prune, label in ((False, "every month windowed (before)"),
                         (True, "newest months only (seqledger)")):
        med[prune] = (statistics.median(w for w, _, _ in out[prune]),
                      statistics.median(c for _, c, _ in out[prune]))
        print(f"{label:<34}{med[prune][0]:>8.3f}{med[prune][1]:>8.3f}")
    print(f"ratio: {med[False][0] / med[True][0]:.2f}x wall, {med[False][1] / med[True][1]:.2f}x "
          f"CPU (median of {args.repeat}, alternated); load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
