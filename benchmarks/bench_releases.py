"""The Releases page's data on a ``bench_year.py`` lake: from the ``release_runs`` rollup against
the same rows from the facts (the page's query before the rollup), in one process.

    nice -n 10 uv run python benchmarks/bench_releases.py --lake COPY/lake

First brings the rollup's stale months current (timed: what ``seqledger lake rollup --stale``
pays once), then times, each first call on a fresh connection and the p50 of ``--repeat`` more:
``release_samples`` + ``release_summary`` (the page's table) and ``release_states`` through the
rollup, and the facts' query (baseline); prints the ratios and whether both give the same rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from lake.settings import Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402

FACTS_SQL = """
    WITH cost AS (SELECT run_id, sum(cost_usd) AS cost_usd FROM costs GROUP BY run_id)
    SELECT r.pipeline_release, r.sample_id, r.run_id, r.project, r.status,
           CAST(CAST(r.status_at AS DATE) AS VARCHAR) AS day, v.verdict,
           c.cost_usd, q.total_runtime_s / 3600.0 AS runtime_h, {metrics}
    FROM run_latest r
    LEFT JOIN cost c ON c.run_id = r.run_id
    LEFT JOIN qc_verdicts v ON v.run_id = r.run_id AND v.suite = 'sample_qc'
    LEFT JOIN sample_qc q ON q.run_id = r.run_id
    WHERE r.pipeline_release IS NOT NULL
    ORDER BY r.status_at, r.run_id"""


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """First call and the p50 of ``repeat`` more, wall seconds; the first call's result."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return first, statistics.median(walls) if walls else first, out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    from analytics import releases, rollups
    from analytics.engine import connect
    from analytics.filters import Filters

    settings = Settings(lake_uri=args.lake)
    store = LakeStore(settings)
    con = connect(settings, store)
    stale = rollups.stale_months(con, store).get("rollup_release_runs_monthly", [])
    t0 = time.perf_counter()
    rollups.refresh(con, store, {"rollup_release_runs_monthly": stale})
    rollup_s = time.perf_counter() - t0

    con = connect(settings, store)

    def page():
        rows = releases.release_samples(con, Filters())
        summary = releases.release_summary(
            rows.select(["pipeline_release", "sample_id", "verdict", "cost_usd", "runtime_h"])
            .to_pylist())
        return rows, summary

    ours = timed(page, args.repeat)
    states = timed(lambda: releases.release_states(con), args.repeat)
    sql = FACTS_SQL.format(metrics=", ".join(f"q.{m}" for m in releases.COMPARED_METRICS))
    facts = timed(lambda: con.execute(sql).to_arrow_table(), min(args.repeat, 1))
    rows = ours[2][0]
    same = rows.num_rows == facts[2].num_rows and rows.column("run_id").equals(
        facts[2].column("run_id"))
    print(f"\n## Releases page data: {rows.num_rows:,} runs ({args.lake})")
    print(f"rollup_release_runs_monthly: {len(stale)} stale month(s) rolled up in {rollup_s:.1f} s")
    print("| query | first call s | p50 s | facts ÷ this (first) |")
    print("|---|---|---|---|")
    print(f"| release_samples + release_summary (rollup) | {ours[0]:.2f} | {ours[1]:.2f} | "
          f"{facts[0] / ours[0]:.1f}× |")
    print(f"| release_states (rollup) | {states[0]:.2f} | {states[1]:.2f} | — |")
    print(f"| the same runs from the facts (baseline) | {facts[0]:.2f} | {facts[1]:.2f} | 1.0× |")
    print(f"same runs in the same order: {same}")


if __name__ == "__main__":
    main()
