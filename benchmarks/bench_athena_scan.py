"""Share of each table's bytes each dashboard query would make Athena read, one month shown.

Two lakes, built in a temporary folder: the demo month (``seqledger demo``) and a synthetic lake
of ``--months`` months (``benchmarks/synth.py``: runs, job attempts, decisions and costs, each
month compacted and rolled up, as a center's lake is after ``seqledger lake compact``). Every
call of every page that takes the sidebar's filters (``DASHBOARD_CALLS``) is made with a
one-month window (``analytics.filters.Filters``: the lake's last month), plus ``filter_options``
(the sidebar's choices, which takes no window), through a recording engine over DuckDB, so the
SQL and its parameters are exactly what a dashboard sends. For each query, ``analytics.scan``
estimates what Athena would read: the Athena views expanded, unused columns pruned, month
filters followed to the partition column, and the bytes of those column chunks in the selected
partitions, from the Parquet footers. The baseline, in the same run, is the whole table (every
column of every month) and the whole lake. Goal: at most 1 % of a table per query.

    uv run python benchmarks/bench_athena_scan.py [--months 24] [--jobs 4000] [--samples 40]
"""

from __future__ import annotations

import argparse
import calendar
import importlib
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # the project and synth, from anywhere

import synth  # noqa: E402

from analytics.athena import view_definitions  # noqa: E402
from analytics.engine import athena_price_usd, open_engine  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.scan import scan_bytes, scan_plan  # noqa: E402
from lake.schemas import TABLES  # noqa: E402
from lake.settings import Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402

GOAL = 0.01
WINDOW = object()  # where a call takes the month's Filters
NOW = object()  # where a call takes the time it is asked at (the end of the window)


# Every page's calls (``dashboards/views/*``: ``data.query("<module>.<fn>", …)``, ``queries`` when
# no module is named) that take the sidebar's filters, with the window where the page passes
# them; the one-run and one-sample drill-downs (a run id, a sample id) are left out.
DASHBOARD_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("overview.figures", (WINDOW,)), ("overview.daily_runs", (WINDOW,)),
    ("overview.attention", (NOW, 24.0)), ("cost_by_project", (WINDOW,)),
    ("failures_by_reason", (WINDOW,)), ("attempt_failures", (WINDOW,)),
    ("runs.runs_table", (WINDOW, ("FAILED",), 50)), ("runs.runs_table", (WINDOW, (), 500)),
    ("runs.turnaround", (WINDOW,)),
    ("failures.failures_by_kind", (WINDOW, "day")), ("failures.reclaims", (WINDOW,)),
    ("failures.retry_outcomes", (WINDOW,)), ("failures.retry_cost", (WINDOW,)),
    ("cost_trends.over_time", (WINDOW, "day")), ("cost_trends.over_time", (WINDOW, "month",
                                                                            "project")),
    ("cost_trends.by_component", (WINDOW,)), ("cost_trends.assumed_prices", (WINDOW,)),
    ("cost_trends.per_sample", (WINDOW,)), ("cost_trends.savings", (WINDOW,)),
    ("cost_trends.reconciliation", (WINDOW,)), ("cost_trends.untagged", (WINDOW,)),
    ("qc.verdict_totals", (WINDOW,)), ("qc.verdicts_by_day", (WINDOW,)),
    ("qc.failed_checks", (WINDOW,)), ("qc.metric_values", (WINDOW,)),
    ("qc.gated_samples", (WINDOW,)), ("releases.release_samples", (WINDOW,)),
    ("storage.by_class", (WINDOW,)), ("storage.archival", (WINDOW,)),
    ("storage.measured", (WINDOW,)), ("filter_options", ()),
]


def call(name: str, engine: Any, args: tuple[Any, ...]) -> Any:
    """``analytics.<module>.<fn>(engine, *args)``, as ``dashboards.data.query`` calls it."""
    module, _, fn = name.rpartition(".")
    return getattr(importlib.import_module(f"analytics.{module or 'queries'}"), fn)(engine, *args)


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


@dataclass(frozen=True)
class Read:
    """What one query of one dashboard call reads of one table."""

    call: str
    table: str
    months: str
    read_bytes: int
    table_bytes: int
    query_bytes: int  # every table that query reads

    @property
    def share(self) -> float:
        return self.read_bytes / self.table_bytes if self.table_bytes else 0.0


def _bind(sql: str, params: list[Any]) -> str:
    """The query with its parameters as literals (DuckDB dialect), as Athena would get it."""
    from analytics.dialect import parse_duckdb

    return parse_duckdb(sql, params).sql(dialect="duckdb")


def one_month(month: str) -> Filters:
    year, mon = int(month[:4]), int(month[5:])
    return Filters(start=date(year, mon, 1),
                   end=date(year, mon, calendar.monthrange(year, mon)[1]))


def measure(settings: Settings, window: Filters) -> list[Read]:
    """Every dashboard call with ``window``: per query and table, the bytes Athena would read."""
    store = LakeStore(settings)
    views = view_definitions()
    out = []
    for name, call_args in DASHBOARD_CALLS:
        engine = Recording(open_engine(settings, store))
        now = datetime.combine(window.end, time(23, 59), UTC) if window.end else datetime.now(UTC)
        call(name, engine, tuple({id(WINDOW): window, id(NOW): now}.get(id(a), a)
                                 for a in call_args))
        label = name + "".join(f"({a})" for a in call_args
                               if isinstance(a, str) or (isinstance(a, tuple) and a))
        for i, (sql, params) in enumerate(engine.sent):
            scans = scan_plan(_bind(sql, params), views)
            sized = scan_bytes(scans, store)
            query_bytes = sum(s.read_bytes for s in sized)
            for scan, size in zip(scans, sized, strict=True):
                picked = sorted(scan.months or ())
                months = ("all" if scan.months is None else picked[0] if len(picked) == 1
                          else f"{picked[0]}+{len(picked) - 1}")
                out.append(Read(label + (f" #{i + 1}" if len(engine.sent) > 1 else ""),
                                scan.table, months, size.read_bytes, size.table_bytes,
                                query_bytes))
    return out


def lake_bytes(settings: Settings) -> int:
    store = LakeStore(settings)
    return sum(s.table_bytes for s in scan_bytes(
        [_everything(n) for n in TABLES if store.has_files(n)], store))


def _everything(name: str):
    from analytics.scan import TableScan

    return TableScan(name, frozenset(f.name for f in TABLES[name].schema))


def report(title: str, reads: list[Read], whole_lake: int) -> None:
    print(f"\n{title}: lake {whole_lake:,} bytes")
    print(f"{'dashboard query':<26} {'table':<27} {'months':>8} {'read':>11} {'of table':>12} "
          f"{'share':>7} {'of lake':>8}  price")
    for r in reads:
        share = f"{r.share:>7.2%}" if r.table_bytes else "  empty"
        print(f"{r.call:<26} {r.table:<27} {r.months:>8} {r.read_bytes:>11,} "
              f"{r.table_bytes:>12,} {share} {r.read_bytes / whole_lake:>8.3%}  "
              f"${athena_price_usd(r.query_bytes):.6f}")
    counted = [r for r in reads if r.table_bytes]  # an empty table has no share to meet
    met = [r for r in counted if r.share <= GOAL]
    worst = max(counted, key=lambda r: r.share)
    windowed = [r for r in counted if not r.call.startswith("filter_options")]
    print(f"{len(met)} of {len(counted)} (query, table) reads at most {GOAL:.0%} of their table "
          f"(largest with the window: {max(r.share for r in windowed):.2%}); "
          f"largest: {worst.share:.2%} ({worst.call} on {worst.table}); largest share of the "
          f"lake read by one query: {max(r.query_bytes for r in reads) / whole_lake:.3%}. "
          "Baseline: 100 % (every column of every month).")


def build_synthetic(settings: Settings, months: list[str], n_jobs: int) -> None:
    """``months`` of synthetic work, each delivered in a few files, compacted, then rolled up."""
    from analytics.engine import connect
    from analytics.rollups import refresh

    store = LakeStore(settings)
    for i, month in enumerate(months):
        jobs = synth.jobs_for_month(month, n_jobs, jobs_per_run=25, seed=i)
        rows = {"job_attempts": synth.lake_columns(synth.job_attempts_rows(jobs, seed=i),
                                                   "job_attempts"),
                "costs": synth.lake_columns(synth.costs_rows(jobs, seed=i), "costs"),
                "decisions": synth.decisions_rows(jobs), "runs": synth.runs_rows(jobs, seed=i)}
        for name, tbl in rows.items():
            store.write(name, tbl)
            store.compact(name, month)
        print(f"  {month}: {n_jobs:,} jobs written and compacted", file=sys.stderr, flush=True)
    refresh(connect(settings, store), store)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40, help="Samples of the demo month.")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--months", type=int, default=24, help="Months of the synthetic lake.")
    ap.add_argument("--jobs", type=int, default=4000, help="Batch jobs per synthetic month.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        from seqledger.demo import play

        demo = Settings(lake_uri=str(Path(root) / "demo"))
        print(f"playing the demo month ({args.samples} samples) …", file=sys.stderr, flush=True)
        play(demo, samples=args.samples, seed=args.seed, workdir=Path(root))
        (month,) = LakeStore(demo).months("runs")
        report(f"demo lake (one month, {args.samples} samples), window {month}",
               measure(demo, one_month(month)), lake_bytes(demo))

        synthetic = Settings(lake_uri=str(Path(root) / "synthetic"))
        months = synth.months_from("2025-01", args.months)
        print(f"building {args.months} synthetic months …", file=sys.stderr, flush=True)
        build_synthetic(synthetic, months, args.jobs)
        report(f"synthetic lake ({args.months} months, {args.jobs:,} jobs a month), "
               f"window {months[-1]}", measure(synthetic, one_month(months[-1])),
               lake_bytes(synthetic))


if __name__ == "__main__":
    main()
