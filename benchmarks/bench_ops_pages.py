"""The queries of the Failures and Spot, Cost and Storage pages on a synthetic lake, against the
overview's rollup query measured in the same run.

    uv run python benchmarks/bench_ops_pages.py                        # 2 months at 10 % scale
    uv run python benchmarks/bench_ops_pages.py --months 12 --scale 1  # the seed-scale year

The lake is ``bench_year.py``'s (built once into ``--cache``, reused). Printed per query and for
an open range and a one-month range: the first call and the p50 of later calls, CPU seconds, and
the ratio of the p50 CPU to the baseline (``queries.attempt_failures``, which reads the attempts
rollup). The Failures queries read daily rollups (``analytics.failure_rollups``); the cost
queries read the monthly cost rollup or the cost rows; automation counts the attempts' state rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """CPU seconds of the first call and the p50 of ``repeat`` more."""
    t = time.process_time()
    fn()
    first = time.process_time() - t
    later = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        later.append(time.process_time() - t)
    return first, statistics.median(later)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--months", type=int, default=2)
    p.add_argument("--scale", type=float, default=0.1, help="share of 500,000 jobs a month")
    p.add_argument("--cache", type=Path, default=ROOT / ".seqledger" / "bench-ops-pages")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    import bench_year

    from analytics import cost_trends, failures, queries, storage
    from analytics.engine import open_engine
    from analytics.filters import Filters
    from lake.settings import Settings

    months = [f"2026-{m:02d}" for m in range(1, args.months + 1)]
    bench_year.build(args.cache, months, int(500_000 * args.scale))
    engine = open_engine(Settings(lake_uri=str(args.cache / "lake")))
    (count,) = engine.rows("SELECT count(*) AS n FROM raw_job_attempts")
    last = date.fromisoformat(months[-1] + "-01")
    ranges = {"open range": Filters(),
              "one month": Filters(start=last, end=date(last.year, last.month, 28))}
    print(f"lake: {args.cache / 'lake'}, {len(months)} months, {count['n']:,} job_attempts rows")
    _, base = cpu(lambda: queries.attempt_failures(engine), args.repeat)
    print(f"baseline queries.attempt_failures (rollup): {base * 1000:.1f} ms CPU p50")
    print(f"{'range':11} {'query':34} {'first s':>8} {'p50 s':>7} {'x base':>8}")
    for label, f in ranges.items():
        asked: list[tuple[str, Callable[[], object]]] = [
            ("failures.failures_by_kind", lambda f=f: failures.failures_by_kind(engine, f)),
            ("failures.reclaims", lambda f=f: failures.reclaims(engine, f)),
            ("failures.retry_outcomes", lambda f=f: failures.retry_outcomes(engine, f)),
            ("failures.retry_cost", lambda f=f: failures.retry_cost(engine, f)),
            ("cost_trends.over_time (month)", lambda f=f: cost_trends.over_time(engine, f)),
            ("cost_trends.over_time (day)", lambda f=f: cost_trends.over_time(engine, f, "day")),
            ("cost_trends.by_component", lambda f=f: cost_trends.by_component(engine, f)),
            ("cost_trends.per_sample", lambda f=f: cost_trends.per_sample(engine, f)),
            ("cost_trends.savings", lambda f=f: cost_trends.savings(engine, f)),
            ("cost_trends.automation", lambda f=f: cost_trends.automation(engine, f)),
            ("storage.by_class", lambda f=f: storage.by_class(engine, f)),
            ("storage.archival", lambda f=f: storage.archival(engine, f)),
        ]
        for name, fn in asked:
            first, p50 = cpu(fn, args.repeat)
            print(f"{label:11} {name:34} {first:8.2f} {p50:7.2f} {p50 / max(base, 1e-4):8.0f}")


if __name__ == "__main__":
    main()
