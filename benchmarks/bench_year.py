"""A year of the seed's lake: how fast the dashboards and reports answer, against DuckDB and pandas.

    uv run python benchmarks/bench_year.py                     # 12 months at the seed's scale
    uv run python benchmarks/bench_year.py --months 2          # a quicker run, same monthly scale
    uv run python benchmarks/bench_year.py --months 3 --scale 0.2

Per month (``--scale 1``): 500,000 Batch jobs in 12,000 runs, 2.5 M job_attempts rows (with
redeliveries), 1.5 M costs rows, 0.5 M decisions, 36,000 runs rows (``benchmarks/synth.py``). The
lake is built once into ``--cache`` (default ``.seqledger/bench-year/``) and reused by later runs
with the same months and scale: every month written in four deliveries, compacted, then rolled up.

Printed (stdout): for every dashboard and report query, the p50 wall time and CPU time through
seqledger (which reads the rollups), the same question asked of the raw Parquet files in DuckDB
(no deduplication, no rollups), and in pandas, with the ratios; ad-hoc queries on the deduplicated
views against the same SQL on the raw files; connect time; compaction time and peak memory of the
largest month (``bench_compact.py`` in a process of its own: the month delivered again into a
fresh lake); the rollup refresh of a month. Progress goes to stderr.

Also per month: 0.98 M qc_metrics rows (84 lines of each finished run), 0.1 M qc_results rows
(8 gated checks and the verdict) and 0.88 M billed_costs rows (split rows, instance-hours, S3
days). A cache built before those tables existed gets just them (``built.json`` records each
month's tables). Batch ingest of events is measured by ``bench_batch_ingest.py``, run here as a
process at ``--ingest-runs`` runs (0: skipped). Last, every goal of the year (issue 15) with its
figure and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # lake and synth, from anywhere

import synth  # noqa: E402
from bench_lake import measured  # noqa: E402  (wall, CPU, peak RSS of a block)

from lake.settings import Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402

JOBS_PER_MONTH = 500_000
JOBS_PER_RUN = 42  # 12,000 runs a month
FIRST_MONTH = "2025-01"
DELIVERIES = 4  # writes per table and month before compaction
FACTS = ("job_attempts", "costs", "decisions", "runs")
QUERY_GOAL_MS = 100  # every dashboard and report query, p50 wall, from the summaries
ADHOC_GOAL = 2.0  # ad-hoc query on the deduplicated views ÷ the same SQL on the raw files
PANDAS_GOAL = 10.0  # pandas ÷ seqledger
COMPACT_GOAL_MB = 2048  # peak RSS compacting the largest month
INGEST_GOAL = 50_000  # batch ingest, events per second, wall
SEED_MONTH_EVENTS = 3_000_000  # a seed month of job-state events; goal: landed in under a minute
TABLES = (*FACTS, "qc_metrics", "qc_results", "billed_costs")


def note(message: str) -> None:
    print(f"[bench_year] {message}", file=sys.stderr, flush=True)


# -- the lake ------------------------------------------------------------------------------------
def month_rows(month: str, n_jobs: int, seed: int, tables: Iterable[str]) -> dict[str, pa.Table]:
    """The ``tables`` of one month (the same rows for the same month and seed, table by table)."""
    tables = list(tables)
    jobs = synth.jobs_for_month(month, n_jobs, jobs_per_run=JOBS_PER_RUN, seed=seed)
    out = {}
    if "job_attempts" in tables:
        attempts = synth.job_attempts_rows(jobs, seed=seed)
        out["job_attempts"] = synth.lake_columns(attempts, "job_attempts")
    if "costs" in tables:
        out["costs"] = synth.lake_columns(synth.costs_rows(jobs, seed=seed), "costs")
    if "decisions" in tables:
        out["decisions"] = synth.decisions_rows(jobs)
    if {"runs", "qc_metrics", "qc_results"} & set(tables):
        runs = synth.runs_rows(jobs, seed=seed)
        if "runs" in tables:
            out["runs"] = runs
        if {"qc_metrics", "qc_results"} & set(tables):
            metrics = synth.qc_metrics_rows(runs, seed=seed)
            if "qc_results" in tables:
                out["qc_results"] = synth.qc_results_rows(metrics)
            if "qc_metrics" in tables:
                out["qc_metrics"] = metrics
    if "billed_costs" in tables:
        out["billed_costs"] = synth.billed_costs_rows(jobs, seed=seed)
    return {name: out[name] for name in tables}


def build(cache: Path, months: list[str], n_jobs: int) -> dict:
    """Write and compact the tables missing from the months of ``cache`` (a month built before
    the QC and billing tables existed gets just those), then roll up what changed; what it
    measured. ``built.json`` records per month the tables written (``tables``)."""
    from analytics.engine import connect
    from analytics.rollups import refresh, stale_months

    store = LakeStore(Settings(lake_uri=str(cache / "lake")))
    state_file = cache / "built.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("jobs_per_month") not in (None, n_jobs):
        raise SystemExit(f"{cache} holds {state['jobs_per_month']} jobs a month: use --rebuild")
    state["jobs_per_month"] = n_jobs
    built = state.setdefault("months", {})
    for i, month in enumerate(months):
        figures = built.get(month, {})
        # months written before ``tables`` was recorded hold the four facts of the first build
        have = set(figures.get("tables", FACTS if figures else ()))
        missing = [name for name in TABLES if name not in have]
        if not missing:
            continue
        note(f"month {month} ({i + 1}/{len(months)}): writing {', '.join(missing)} "
             f"({n_jobs:,} jobs)")
        rows = month_rows(month, n_jobs, seed=i, tables=missing)
        figures |= {name: tbl.num_rows for name, tbl in rows.items()}
        for name, tbl in rows.items():
            step = -(-tbl.num_rows // DELIVERIES)
            for k in range(DELIVERIES):
                store.write(name, tbl.slice(k * step, step))
        del rows
        for name in missing:
            with measured() as m:
                store.compact(name, month)
            figures[f"compact_{name}_s"] = round(m.seconds, 2)
            figures[f"compact_{name}_cpu_s"] = round(m.cpu_s, 2)
            figures[f"compact_{name}_peak_mb"] = round(m.peak_mb)
            note(f"  compacted {name}: {m.seconds:.1f} s, peak {m.peak_mb:,.0f} MB")
        figures["tables"] = sorted(have | set(missing))
        built[month] = figures
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state, indent=1))
    con = connect(store.settings, store)
    todo = stale_months(con, store)  # the fact files' names only: cheap when nothing is stale
    if todo:
        note(f"rolling up {sum(len(m) for m in todo.values())} stale rollup months")
        with measured() as m:
            done = refresh(con, store, todo, progress=lambda s: note(f"  {s}"))
        if done:
            state["rollup_s"] = round(m.seconds, 1)
            state["rollup_cpu_s"] = round(m.cpu_s, 1)
            state["rollup_months"] = len({k.split("/")[1] for k in done})
        state["rolled_up"] = sorted(built)
        state_file.write_text(json.dumps(state, indent=1))
    return state


# -- the questions -------------------------------------------------------------------------------
def raw(lake: Path, name: str) -> str:
    return f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning = true)"


def raw_sql(lake: Path) -> dict[str, str]:
    """Each dashboard question on the raw files: same aggregation, no deduplication."""
    runs_latest = (
        f"SELECT run_id, arg_max(status, status_at) AS status, max(status_at) AS status_at, "
        f"arg_max(reason, status_at) AS reason FROM {raw(lake, 'runs')} GROUP BY run_id"
    )
    qc_latest = (
        f"SELECT run_id, arg_max(verdict, evaluated_at) AS verdict, "
        f"max(evaluated_at) AS evaluated_at FROM {raw(lake, 'qc_results')} "
        "WHERE check_id = 'overall' GROUP BY run_id"
    )
    attempts = (
        f"SELECT job_id, attempt, any_value(capacity) AS capacity, "
        f"max(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) AS failed "
        f"FROM {raw(lake, 'job_attempts')} GROUP BY job_id, attempt"
    )
    return {
        "runs_by_status": f"SELECT status, count(*) FROM ({runs_latest}) GROUP BY status",
        "throughput (day)": (
            f"SELECT CAST(status_at AS DATE) AS d, status, count(*) FROM ({runs_latest}) "
            "WHERE status IN ('SUCCEEDED', 'FAILED') GROUP BY d, status"
        ),
        "failures_by_reason": (
            f"SELECT coalesce(reason, 'unknown'), count(*) FROM ({runs_latest}) "
            "WHERE status = 'FAILED' GROUP BY 1"
        ),
        "attempt_failures": (
            f"SELECT failure_kind, count(*) FROM {raw(lake, 'decisions')} "
            "WHERE failure_kind <> 'none' GROUP BY 1"
        ),
        "attempts_by_capacity": f"SELECT capacity, count(*) FROM ({attempts}) GROUP BY capacity",
        "cost_by_project": (
            f"SELECT project, sum(cost_usd), count(*) FROM {raw(lake, 'costs')} GROUP BY project"
        ),
        "overview": (
            f"SELECT (SELECT count(*) FROM ({runs_latest})), (SELECT count(*) FROM ({attempts})), "
            f"(SELECT sum(cost_usd) FROM {raw(lake, 'costs')})"
        ),
        "cost_trend (report)": (
            f"SELECT month, split_part(component, ':', 1), sum(cost_usd) FROM {raw(lake, 'costs')} "
            "GROUP BY 1, 2"
        ),
        "qc_verdicts_by_day": (
            f"SELECT CAST(coalesce(r.status_at, v.evaluated_at) AS DATE) AS d, v.verdict, "
            f"count(*) FROM ({qc_latest}) v LEFT JOIN ({runs_latest}) r USING (run_id) "
            "GROUP BY d, v.verdict"
        ),
        "qc_verdict_totals": f"SELECT verdict, count(*) FROM ({qc_latest}) GROUP BY verdict",
        "reconcile (report)": (
            f"SELECT coalesce(e.month, b.month), coalesce(e.project, b.project), e.usd, b.usd "
            f"FROM (SELECT month, project, sum(cost_usd) AS usd FROM {raw(lake, 'costs')} "
            f"GROUP BY 1, 2) e FULL JOIN (SELECT month, project, "
            f"sum(coalesce(split_cost_usd, unblended_cost_usd)) AS usd "
            f"FROM {raw(lake, 'billed_costs')} GROUP BY 1, 2) b "
            "ON b.month = e.month AND b.project IS NOT DISTINCT FROM e.project"
        ),
    }


def pandas_questions(lake: Path) -> dict[str, Callable[[], object]]:
    """The same questions in pandas, reading the columns they need from the same files."""
    import pandas as pd

    def read(name: str, columns: list[str]) -> pd.DataFrame:
        return pd.read_parquet(lake / name, columns=columns)

    def latest_runs(columns: list[str]) -> pd.DataFrame:
        df = read("runs", ["run_id", "status_at", *columns])
        return df.sort_values("status_at").drop_duplicates("run_id", keep="last")

    def runs_by_status():
        return latest_runs(["status"])["status"].value_counts()

    def throughput():
        df = latest_runs(["status"])
        df = df[df["status"].isin(["SUCCEEDED", "FAILED"])]
        return df.groupby([df["status_at"].dt.date, "status"]).size()

    def failures():
        df = latest_runs(["status", "reason"])
        return df[df["status"] == "FAILED"]["reason"].fillna("unknown").value_counts()

    def attempt_failures():
        df = read("decisions", ["failure_kind"])
        return df[df["failure_kind"] != "none"]["failure_kind"].value_counts()

    def by_capacity():
        df = read("job_attempts", ["job_id", "attempt", "capacity"])
        return df.drop_duplicates(["job_id", "attempt"])["capacity"].value_counts()

    def cost_by_project():
        return read("costs", ["project", "cost_usd"]).groupby("project")["cost_usd"].sum()

    def cost_trend():
        df = read("costs", ["component", "cost_usd", "usage_start_at"])
        return df.groupby([df["usage_start_at"].dt.strftime("%Y-%m"), "component"])[
            "cost_usd"
        ].sum()

    def qc_verdict_totals():
        df = read("qc_results", ["run_id", "check_id", "verdict", "evaluated_at"])
        df = df[df["check_id"] == "overall"].sort_values("evaluated_at")
        return df.drop_duplicates("run_id", keep="last")["verdict"].value_counts()

    def reconcile():
        est = read("costs", ["project", "cost_usd", "usage_start_at"])
        est = est.groupby([est["usage_start_at"].dt.strftime("%Y-%m"), "project"])[
            "cost_usd"].sum()
        bil = read("billed_costs", ["project", "split_cost_usd", "unblended_cost_usd",
                                     "usage_start_at"])
        bil["usd"] = bil["split_cost_usd"].fillna(bil["unblended_cost_usd"])
        bil = bil.groupby([bil["usage_start_at"].dt.strftime("%Y-%m"), "project"])["usd"].sum()
        return pd.concat([est, bil], axis=1)

    return {
        "qc_verdict_totals": qc_verdict_totals,
        "reconcile (report)": reconcile,
        "runs_by_status": runs_by_status,
        "throughput (day)": throughput,
        "failures_by_reason": failures,
        "attempt_failures": attempt_failures,
        "attempts_by_capacity": by_capacity,
        "cost_by_project": cost_by_project,
        "cost_trend (report)": cost_trend,
    }


def seqledger_questions(con) -> dict[str, Callable[[], object]]:
    from analytics import cost, cost_trends, overview, qc, queries
    from analytics.filters import Filters

    everything = Filters()

    return {
        "overview": lambda: queries.overview(con),
        "overview.figures (page)": lambda: overview.figures(con, everything),
        "runs_by_status": lambda: queries.runs_by_status(con),
        "throughput (day)": lambda: queries.throughput(con, "day"),
        "throughput (month)": lambda: queries.throughput(con, "month"),
        "failures_by_reason": lambda: queries.failures_by_reason(con),
        "attempt_failures": lambda: queries.attempt_failures(con),
        "attempts_by_capacity": lambda: queries.attempts_by_capacity(con),
        "cost_by_project": lambda: queries.cost_by_project(con),
        "qc_verdict_counts": lambda: queries.qc_verdict_counts(con),
        "cost_trend (report)": lambda: cost.cost_trend(con),
        "cost over time (Cost page, month)": lambda: cost_trends.over_time(con, everything),
        "cost over time (Cost page, day)": lambda: cost_trends.over_time(con, everything, "day"),
        "qc_verdicts_by_day": lambda: qc.verdicts_by_day(con, everything),
        "qc_verdict_totals": lambda: qc.verdict_totals(con, everything),
        "qc_metric_summary (report)": lambda: qc.metric_summary(con, everything),
        "reconcile (report)": lambda: cost.reconcile(con),
    }


def adhoc_sql(lake: Path, last: str) -> dict[str, tuple[str, str]]:
    """Ad-hoc questions on the deduplicated views, and the same SQL on the raw files."""
    pairs = {
        "attempts by status": "SELECT status, count(*) FROM {t} GROUP BY status",
        "cost by instance type": "SELECT instance_type, sum(cost_usd) FROM {t} GROUP BY 1",
        "one month by status": (
            "SELECT status, count(*) FROM {t} WHERE month = '" + last + "' GROUP BY status"
        ),
    }
    tables = {
        "attempts by status": "job_attempts",
        "cost by instance type": "costs",
        "one month by status": "job_attempts",
    }
    return {
        name: (sql.format(t=tables[name]), sql.format(t=raw(lake, tables[name])))
        for name, sql in pairs.items()
    }


def _script(name: str, *args: str) -> str:
    """The stdout of ``benchmarks/<name>`` run as a process of its own (a fresh interpreter:
    its memory is its own, not this process's)."""
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args],
                          capture_output=True, text=True, check=True).stdout


def _numbers(pattern: str, out: str) -> list[float] | None:
    """The groups of ``pattern``'s first match in ``out`` as numbers (``1,234`` read as 1234)."""
    found = re.search(pattern, out, re.MULTILINE)
    return None if found is None else [float(g.replace(",", "")) for g in found.groups()]


def batch_ingest(runs: int) -> dict[str, float] | None:
    """``bench_batch_ingest.py``'s columnar path at ``runs`` runs (one process, batches of
    20,000): events per second wall and CPU, peak MiB; None when its output has no such line."""
    out = _script("bench_batch_ingest.py", "--runs", str(runs), "--batch", "20000",
                  "--paths", "columns")
    found = _numbers(r"^columns\s+([\d,]+)\s+([\d,]+)\s.*?([\d,]+)\s*$", out)
    return None if found is None else dict(zip(("wall", "cpu", "peak_mib"), found, strict=True))


def compaction(lake: Path) -> dict | None:
    """``bench_compact.py`` (the build's process holds other months' memory, so its peak says
    little): the largest month of ``job_attempts`` delivered again into a fresh lake and
    compacted; wall and CPU seconds, peak RSS MB, the month and its rows."""
    out = _script("bench_compact.py", "--lake", str(lake))
    found = _numbers(r"^\| compact \| ([\d.]+) \| ([\d.]+) \| ([\d,]+) \|", out)
    if found is None:
        return None
    head = re.search(r"^## compaction of job_attempts (\S+): ([\d,]+) rows", out, re.MULTILINE)
    month, rows = head.groups() if head else ("?", "?")
    return dict(zip(("wall", "cpu", "peak_mb"), found, strict=True)) | {"month": month,
                                                                         "rows": rows}


def goals(rows: list, adhoc: list, comp: dict | None, ingest: dict | None) -> list[tuple]:
    """Each goal of the year: (goal, what was measured, met)."""
    slow = [(n, t[0]) for n, t, _, _ in rows if t[0] * 1000 > QUERY_GOAL_MS]
    worst = max(rows, key=lambda r: r[1][0])
    out = [(
        f"every dashboard/report query p50 ≤ {QUERY_GOAL_MS} ms",
        f"slowest {worst[0]} {ms(worst[1][0])} ms"
        + (f"; over: {', '.join(f'{n} {ms(t)} ms' for n, t in slow)}" if slow else ""),
        not slow,
    )]
    ratios = [(n, v[0] / r[0]) for n, v, r in adhoc]
    name, top = max(ratios, key=lambda x: x[1])
    out.append((f"ad-hoc on the views ≤ {ADHOC_GOAL:g}× raw DuckDB", f"worst {name} {top:.2f}×",
                top <= ADHOC_GOAL))
    vs_pandas = [(n, p[0] / t[0]) for n, t, _, p in rows if p]
    if vs_pandas:
        name, low = min(vs_pandas, key=lambda x: x[1])
        out.append((f"≥ {PANDAS_GOAL:g}× pandas", f"least {name} {low:.1f}×", low >= PANDAS_GOAL))
    if comp:
        out.append((f"compaction of the largest month ≤ {COMPACT_GOAL_MB:,} MB peak",
                    f"{comp['peak_mb']:,.0f} MB", comp["peak_mb"] <= COMPACT_GOAL_MB))
    if ingest:
        month_s = SEED_MONTH_EVENTS / ingest["wall"]
        out.append((f"batch ingest ≥ {INGEST_GOAL:,} events/s",
                    f"{ingest['wall']:,.0f}/s wall, {ingest['cpu']:,.0f}/CPU-s "
                    f"({INGEST_GOAL / ingest['wall']:.1f}× short)" if ingest["wall"] < INGEST_GOAL
                    else f"{ingest['wall']:,.0f}/s wall", ingest["wall"] >= INGEST_GOAL))
        out.append(("a seed month of events (3 M) in under a minute",
                    f"~{month_s / 60:,.1f} min at that rate", month_s < 60))
    return out


def p50(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` runs (after one warm-up run)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def ms(s: float | None) -> str:
    return "—" if s is None else f"{s * 1000:,.0f}" if s >= 0.01 else f"{s * 1000:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or a == 0 else f"{b / a:,.1f}×"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--months", type=int, default=12, help="months of the year (default 12)")
    p.add_argument("--scale", type=float, default=1.0, help="share of the seed's monthly volume")
    p.add_argument("--cache", type=Path, default=ROOT / ".seqledger" / "bench-year")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of each query (p50)")
    p.add_argument("--rebuild", action="store_true", help="remove the cached lake first")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    p.add_argument("--ingest-runs", type=int, default=4000,
                   help="runs whose events bench_batch_ingest.py replays (0: skip)")
    args = p.parse_args(argv)

    n_jobs = int(JOBS_PER_MONTH * args.scale)
    cache = args.cache / f"jobs-{n_jobs}"
    if args.rebuild and cache.exists():
        import shutil

        shutil.rmtree(cache)
    months = synth.months_from(FIRST_MONTH, args.months)
    state = build(cache, months, n_jobs)
    lake = cache / "lake"
    settings = Settings(lake_uri=str(lake))

    import duckdb

    from analytics.engine import connect

    note("timing connect")
    connect_s = p50(lambda: connect(settings), max(3, args.repeat // 2))
    con = connect(settings)
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    raws = raw_sql(lake)
    pandas = {} if args.no_pandas else pandas_questions(lake)
    rows = []
    for name, fn in seqledger_questions(con).items():
        note(f"timing {name}")
        ours = p50(fn, args.repeat)
        sql = raws.get(name)
        duck_t = p50(lambda sql=sql: duck.execute(sql).fetchall(), args.repeat) if sql else None
        pd_fn = pandas.get(name)
        pd_t = p50(pd_fn, max(1, args.repeat // 2)) if pd_fn else None
        rows.append((name, ours, duck_t, pd_t))
    adhoc = []
    for name, (view_q, raw_q) in adhoc_sql(lake, months[-1]).items():
        note(f"timing ad-hoc {name}")
        adhoc.append(
            (
                name,
                p50(lambda q=view_q: con.execute(q).fetchall(), args.repeat),
                p50(lambda q=raw_q: duck.execute(q).fetchall(), args.repeat),
            )
        )

    built = state["months"]
    facts = {n: sum(built[m].get(n, 0) for m in built) for n in TABLES}
    print(f"\n## A year of the seed's lake: {len(built)} months, {n_jobs:,} jobs a month")
    print("rows: " + ", ".join(f"{n} {v:,}" for n, v in facts.items()))
    print(f"cache: {cache}  (machine: {os.cpu_count()} cores; CPU times are the steadier figure)\n")
    print(
        "| query | seqledger p50 ms (CPU) | raw DuckDB p50 ms (CPU) | pandas p50 ms (CPU) "
        "| DuckDB ÷ seqledger | pandas ÷ seqledger |"
    )
    print("|---|---|---|---|---|---|")
    for name, ours, duck_t, pd_t in rows:
        d = duck_t or (None, None)
        q = pd_t or (None, None)
        print(
            f"| {name} | {ms(ours[0])} ({ms(ours[1])}) | {ms(d[0])} ({ms(d[1])}) | "
            f"{ms(q[0])} ({ms(q[1])}) | {ratio(ours[0], d[0])} | {ratio(ours[0], q[0])} |"
        )
    print(
        "\n| ad-hoc query on the deduplicated views | view p50 ms (CPU) | raw DuckDB p50 ms (CPU) "
        "| view ÷ raw |"
    )
    print("|---|---|---|---|")
    for name, view_t, raw_t in adhoc:
        print(
            f"| {name} | {ms(view_t[0])} ({ms(view_t[1])}) | {ms(raw_t[0])} ({ms(raw_t[1])}) | "
            f"{view_t[0] / raw_t[0]:.2f} |"
        )
    print(f"\nconnect: p50 {ms(connect_s[0])} ms wall, {ms(connect_s[1])} ms CPU")
    note("compacting the largest month again in a process of its own (bench_compact.py)")
    comp = compaction(lake)
    if comp:
        print(
            f"compaction of the largest month ({comp['month']}, {comp['rows']} job_attempts "
            f"rows in {DELIVERIES} deliveries, today's code, benchmarks/"
            f"bench_compact.py): {comp['wall']:.1f} s wall, {comp['cpu']:.1f} s CPU, peak RSS "
            f"{comp['peak_mb']:,.0f} MB"
        )
    if "rollup_s" in state:
        print(
            f"rollup of {state['rollup_months']} months: {state['rollup_s']} s wall, "
            f"{state['rollup_cpu_s']} s CPU"
        )
    ingest = None
    if args.ingest_runs:
        note(f"batch ingest of {args.ingest_runs:,} runs' events (bench_batch_ingest.py)")
        ingest = batch_ingest(args.ingest_runs)
        if ingest:
            print(
                f"batch ingest ({args.ingest_runs:,} runs' events, batches of 20,000): "
                f"{ingest['wall']:,.0f} events/s wall, {ingest['cpu']:,.0f} events/CPU-s, "
                f"peak {ingest['peak_mib']:,.0f} MiB"
            )
    print("\n| goal | measured | met |\n|---|---|---|")
    for goal, figure, met in goals(rows, adhoc, comp, ingest):
        print(f"| {goal} | {figure} | {'yes' if met else '**no**'} |")


if __name__ == "__main__":
    main()
