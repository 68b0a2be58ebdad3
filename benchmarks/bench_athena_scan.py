"""Share of each table's bytes each dashboard query would make Athena read, on the demo lake.

Plays ``seqledger demo`` into a temporary lake, runs every query the dashboards run (through a
recording engine over DuckDB, so the SQL and its parameters are exactly the dashboard's), and
for each one estimates what Athena would scan (``analytics.scan``: the views expanded, unused
columns pruned, month filters followed to the partition column; the bytes are the Parquet column
chunks in the footers). The baseline, in the same run, is the whole table: every column of every
month. Goal: at most 1 % of a table per query.

    uv run python benchmarks/bench_athena_scan.py [--samples 40] [--seed 11]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from analytics import queries
from analytics.athena import view_definitions
from analytics.engine import athena_price_usd, open_engine
from analytics.scan import scan_bytes, scan_plan
from lake.settings import Settings
from lake.store import LakeStore
from seqledger.demo import play

# The calls dashboards/data.py makes, with the arguments the overview page gives them.
DASHBOARD_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("overview", ()), ("throughput", ("day",)), ("throughput", ("month",)),
    ("runs_by_status", ()), ("failures_by_reason", ()), ("attempt_failures", ()),
    ("attempts_by_capacity", ()), ("recent_failures", (50,)), ("cost_by_project", ()),
    ("qc_verdict_counts", ()),
]
GOAL = 0.01


class Recording:
    """An engine that runs on DuckDB and remembers each query's SQL and parameters."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.stats, self.sent = inner, inner.name, inner.stats, []

    def table(self, sql: str, params: Sequence[Any] = (), limit: int | None = None) -> pa.Table:
        self.sent.append((sql, list(params)))
        return self.inner.table(sql, params, limit)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.sent.append((sql, list(params)))
        return self.inner.rows(sql, params)

    def close(self) -> None:
        self.inner.close()


def _bind(sql: str, params: list[Any]) -> str:
    """The query with its parameters as literals (DuckDB dialect), as Athena would get it."""
    from analytics.dialect import parse_duckdb

    return parse_duckdb(sql, params).sql(dialect="duckdb")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        settings = Settings(lake_uri=str(Path(root) / "lake"))
        print(f"playing the demo month ({args.samples} samples) into {settings.lake_uri} …",
              flush=True)
        play(settings, samples=args.samples, seed=args.seed, workdir=Path(root))
        store = LakeStore(settings)
        views = view_definitions()
        worst = 0.0
        print(f"\n{'dashboard query':<28} {'table':<14} {'columns':>7} {'months':>8} "
              f"{'read':>10} {'of table':>10} {'share':>7}  Athena price")
        for name, call_args in DASHBOARD_CALLS:
            engine = Recording(open_engine(settings, store))
            getattr(queries, name)(engine, *call_args)
            label = f"{name}{call_args if call_args else ''}"
            for i, (sql, params) in enumerate(engine.sent):
                scans = scan_plan(_bind(sql, params), views)
                sized = scan_bytes(scans, store)
                total_read = sum(s.read_bytes for s in sized)
                for scan, size in zip(scans, sized, strict=True):
                    worst = max(worst, size.share)
                    months = "all" if scan.months is None else ",".join(sorted(scan.months))
                    print(f"{label + (f' #{i + 1}' if len(engine.sent) > 1 else ''):<28} "
                          f"{scan.table:<14} {len(scan.columns):>7} {months:>8} "
                          f"{size.read_bytes:>10,} {size.table_bytes:>10,} {size.share:>7.2%}  "
                          f"${athena_price_usd(total_read):.6f}")
        verdict = "meets" if worst <= GOAL else "misses"
        print(f"\nlargest share of a table read by one dashboard query: {worst:.2%} "
              f"({verdict} the {GOAL:.0%} goal); the baseline is 100 % (every column, every "
              "month). Each query is billed at least Athena's 10 MB minimum.")


if __name__ == "__main__":
    main()
