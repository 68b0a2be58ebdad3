"""The lake store at the center's scale: a month of ``job_attempts`` written as ingest writes it,
queried as the dashboards query it, with every figure set against a baseline measured in this run.

A month at full scale is 500,000 Batch jobs, about 2.5 M state-change rows (5 per job, 1 % of
events redelivered). Steps:

1. write: the month through ``LakeStore.write`` in hourly batches (what a batching ingest Lambda
   would write), in Lambda-sized batches of 10-100 events (a slice, extrapolated to the month),
   and in ONE write (the baseline); files, bytes, rows/s and peak RSS of each.
2. list and connect: ``LakeStore.files`` and ``analytics.engine.connect`` over each layout.
3. query: dashboard queries through ``analytics.engine.connect`` (DuckDB) on the many-files
   layout, on it after ``LakeStore.compact``, and on the one-write baseline; the answers must agree.
4. read: ``LakeStore.read(month=…)`` (deduplicating in Python) against DuckDB's view.
5. history: a year of months; a one-month query with partition pruning against a full scan,
   and through the deduplicating view (which the month filter cannot prune through).

Rows marked ``proto`` run a proposed fix prototyped in this file (not the store's code) on the
same data, to measure what the fix would gain. Progress goes to stderr, the table to stdout.

    uv run python benchmarks/bench_lake.py            # one month at full scale
    uv run python benchmarks/bench_lake.py --quick    # 50,000 jobs: a smoke run
    uv run python benchmarks/bench_lake.py --s3       # quick size on a local lake and on SeaweedFS
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "benchmarks"),
]  # run from anywhere: lake, tests.servers, synth

import synth  # noqa: E402

from lake.errors import SchemaError  # noqa: E402
from lake.schemas import SCHEMA_VERSION, TS, TableSpec, table  # noqa: E402
from lake.settings import S3Options, Settings  # noqa: E402
from lake.store import LakeStore, WriteResult, latest_by_key  # noqa: E402

TABLE = "job_attempts"
MB = 1024 * 1024


# -- measuring ---------------------------------------------------------------------------------
def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0) so getrusage reports this phase's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class Phase:
    """Wall time and peak RSS of a block (peak since the block began, when the kernel allows)."""

    seconds: float = 0.0
    peak_mb: float = 0.0
    exact_peak: bool = True


@contextlib.contextmanager
def measured() -> Iterator[Phase]:
    phase = Phase(exact_peak=_reset_peak_rss())
    t0 = time.perf_counter()
    try:
        yield phase
    finally:
        phase.seconds = time.perf_counter() - t0
        phase.peak_mb = _peak_rss_mb()


class Progress:
    """One stderr line per step, updated in place (at most every half second)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.last, self.t0 = label, total, 0.0, time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last > 0.5 or done == self.total:
            self.last = now
            eta = (now - self.t0) / done * (self.total - done) if done else 0
            end = "\n" if done == self.total else ""
            print(
                f"\r  {self.label}: {done}/{self.total} ({now - self.t0:.0f} s, ~{eta:.0f} s left)",
                end=end,
                file=sys.stderr,
                flush=True,
            )


def note(message: str) -> None:
    print(f"[bench_lake] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    section: str
    step: str
    seconds: float
    base: float | None = None  # the baseline's seconds; ratio = seconds / base
    files: int | None = None
    mb: float | None = None
    rows: int | None = None
    rss_mb: float | None = None
    extra: str = ""


@dataclass
class Report:
    backend: str
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        ratio = f" ({row.seconds / row.base:.2f}x)" if row.base else ""
        note(f"{row.section} | {row.step}: {row.seconds:.3f} s{ratio} {row.extra}")
        return row


def print_table(report: Report, header: str) -> None:
    print(f"\n{header}")
    cols = ("section", "step", "time s", "x base", "files", "MB", "rows", "peak RSS MB", "")
    lines = [
        (
            r.section,
            r.step,
            f"{r.seconds:.3f}",
            f"{r.seconds / r.base:.2f}" if r.base else "",
            "" if r.files is None else f"{r.files:,}",
            "" if r.mb is None else f"{r.mb:.1f}",
            "" if r.rows is None else f"{r.rows:,}",
            "" if r.rss_mb is None else f"{r.rss_mb:.0f}",
            r.extra,
        )
        for r in report.rows
    ]
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(cols)]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    print(fmt(cols))
    print(fmt(tuple("-" * w for w in widths)))
    for line in lines:
        print(fmt(line))


def lake_size(store: LakeStore, name: str) -> tuple[int, float]:
    """Files and MB of a table."""
    sel = pafs.FileSelector(store.table_path(name), recursive=True, allow_not_found=True)
    infos = [i for i in store.fs.get_file_info(sel) if i.type == pafs.FileType.File]
    return len(infos), sum(i.size or 0 for i in infos) / MB


def best_of(con, sql: str, repeat: int) -> tuple[float, float, list]:
    """(best seconds, first seconds, sorted result) of ``repeat`` runs."""
    times, result = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return min(times), times[0], sorted(result, key=repr)


# -- prototypes of proposed fixes (measured here; the store itself is not changed) ---------
def proto_to_table(spec: TableSpec, rows: pa.Table, recorded_at=None) -> pa.Table:
    """``to_table`` for Arrow input with no Python round trip: select, fill, check, safe-cast."""
    unknown = set(rows.column_names) - set(spec.columns)
    if unknown:
        raise SchemaError(f"{spec.name}: unknown column(s) {sorted(unknown)}")
    n = rows.num_rows
    arrays = []
    for f in spec.schema:
        col = rows[f.name] if f.name in rows.column_names else pa.nulls(n, f.type)
        if f.name == "schema_version":
            col = pc.fill_null(col.cast(f.type), SCHEMA_VERSION)
        elif f.name == "recorded_at" and col.null_count:
            col = pc.fill_null(
                col.cast(f.type), pa.scalar(recorded_at or time.time_ns() // 1000, TS)
            )
        if not f.nullable and col.null_count:
            raise SchemaError(
                f"{spec.name}: column {f.name!r} is required but missing in {col.null_count} row(s)"
            )
        try:
            arrays.append(col.cast(f.type))  # safe cast: overflow and lossy conversions raise
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise SchemaError(f"{spec.name}: column {f.name!r}: {e}") from e
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def proto_key_digest(sorted_part: pa.Table, key: tuple[str, ...]) -> str:
    """A digest of the keys of rows already sorted by key: hashes Arrow buffers, no Python rows."""
    fields = [pc.fill_null(pc.cast(sorted_part[k], pa.string()), "") for k in key]
    joined = pc.binary_join_element_wise(*fields, "\x1f")
    terminated = pc.binary_join_element_wise(joined, pa.scalar(""), "\x1e")  # 'k1\x1fk2\x1e'
    h = hashlib.sha256()
    for chunk in terminated.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        h.update(memoryview(chunk.buffers()[2])[offsets[0] : offsets[-1]])
    return h.hexdigest()[:24]


def _file_key(spec: TableSpec) -> tuple[str, ...]:
    key = getattr(spec, "file_key", spec.key)  # key plus the version column, where a table has one
    if "*" in key:
        raise NotImplementedError("the prototype digest covers tables without a '*' version")
    return key


def proto_write(store: LakeStore, name: str, rows: pa.Table) -> WriteResult:
    """``LakeStore.write`` with the two vectorised pieces above; same layout and atomicity."""
    spec = table(name)
    tbl = proto_to_table(spec, rows)
    months = pc.strftime(tbl[spec.time_column], format="%Y-%m", locale="C")
    written, existing, n = [], [], 0
    for month in sorted(pc.unique(months).to_pylist()):
        part = tbl.filter(pc.equal(months, month)).sort_by([(k, "ascending") for k in spec.key])
        digest = proto_key_digest(part, _file_key(spec))
        path = f"{store.table_path(name)}/month={month}/part-{digest}.parquet"
        if store.fs.get_file_info(path).type == pafs.FileType.File:
            existing.append(path)
            continue
        store._write_atomic(part, path)  # the prototype reuses the store's atomic write
        written.append(path)
        n += part.num_rows
    return WriteResult(name, tuple(written), tuple(existing), n)


def proto_latest_by_key(tbl: pa.Table, spec: TableSpec) -> pa.Table:
    """``latest_by_key`` without the Python loop: after the sort, keep rows whose key changes."""
    if tbl.num_rows == 0:
        return tbl
    idx = pa.array(np.arange(tbl.num_rows, dtype=np.int64))
    ranked = tbl.append_column("__i", idx).sort_by(
        [(k, "ascending") for k in spec.key]
        + [(spec.order_by, "descending"), ("recorded_at", "descending"), ("__i", "descending")]
    )
    n = ranked.num_rows
    first = np.zeros(n, dtype=bool)
    first[0] = True
    for k in spec.key:
        col = ranked[k].combine_chunks()
        cur, prev = col.slice(1), col.slice(0, n - 1)
        differs = pc.not_equal(cur, prev)  # null where either side is null
        differs = pc.if_else(
            pc.is_null(differs), pc.not_equal(pc.is_null(cur), pc.is_null(prev)), differs
        )
        first[1:] |= differs.to_numpy(zero_copy_only=False)
    return ranked.filter(pa.array(first)).drop_columns(["__i"])


def proto_compact(store: LakeStore, name: str, month: str) -> tuple[int, int]:
    """``LakeStore.compact`` with the vectorised dedupe and a listing of the month's folder only."""
    spec = table(name)
    folder = f"{store.table_path(name)}/month={month}"
    infos = store.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    files = sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and i.base_name.endswith(".parquet")
        and not i.base_name.startswith(".")
    )
    if len(files) <= 1:
        return len(files), len(files)
    tbl = ds.dataset(files, schema=spec.schema, format="parquet", filesystem=store.fs).to_table()
    tbl = proto_latest_by_key(tbl, spec)  # already sorted by key
    path = f"{folder}/part-{proto_key_digest(tbl, _file_key(spec))}.parquet"
    if path not in files:
        store._write_atomic(tbl, path)
    for f in files:
        if f != path:
            store.fs.delete_file(f)
    return len(files), 1


def proto_compact_duckdb(store: LakeStore, name: str, month: str) -> tuple[int, int]:
    """Compaction that lets DuckDB read and deduplicate the month's files (its multi-file reader
    is several times faster than a pyarrow dataset on many small files); pyarrow still writes."""
    import duckdb

    from analytics.engine import _load_httpfs, dedupe_sql

    spec = table(name)
    folder = f"{store.table_path(name)}/month={month}"
    infos = store.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    files = sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and i.base_name.endswith(".parquet")
        and not i.base_name.startswith(".")
    )
    if len(files) <= 1:
        return len(files), len(files)
    prefix = "s3://" if store.settings.lake_is_s3 else ""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if store.settings.lake_is_s3:
        _load_httpfs(con, store.settings)
    listed = ", ".join(f"'{prefix}{f}'" for f in files)
    source = f"(SELECT *, '{month}' AS month FROM read_parquet([{listed}], union_by_name = true))"
    sql = f"{dedupe_sql(spec, source)} ORDER BY {', '.join(spec.key)}"
    tbl = con.execute(sql).fetch_arrow_table().select(spec.columns).cast(spec.schema)
    con.close()
    path = f"{folder}/part-{proto_key_digest(tbl, _file_key(spec))}.parquet"
    if path not in files:
        store._write_atomic(tbl, path)
    for f in files:
        if f != path:
            store.fs.delete_file(f)
    return len(files), 1


class _WithoutUnionByName:
    """A DuckDB connection that runs every statement with ``union_by_name`` switched off."""

    def __init__(self, con) -> None:
        self._con, self.rewrites = con, 0

    def execute(self, sql: str, *args, **kwargs):
        new, n = re.subn(r"union_by_name\s*=\s*true", "union_by_name = false", sql, flags=re.I)
        self.rewrites += n
        return self._con.execute(new, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def proto_connect(store: LakeStore):
    """``engine.connect`` itself, with ``union_by_name`` off: that option reads every file's footer
    when a view is bound (at CREATE VIEW and again at every query)."""
    import duckdb

    from analytics.engine import connect

    real = duckdb.connect
    duckdb.connect = lambda *a, **k: _WithoutUnionByName(real(*a, **k))
    try:
        con = connect(store.settings, store)
    finally:
        duckdb.connect = real
    if not con.rewrites:
        note("engine.connect no longer sets union_by_name = true; the proto row measures nothing")
    return con


def copy_table(src: LakeStore, dst: LakeStore, name: str) -> None:
    for f in src.files(name):
        target = dst.table_path(name) + f[len(src.table_path(name)) :]
        dst.fs.create_dir(target.rpartition("/")[0], recursive=True)
        src.fs.copy_file(f, target)


def proto_dedupe_sql(spec: TableSpec, source: str) -> str:
    """``engine.dedupe_sql`` with ``month`` first in PARTITION BY, so month filters prune."""
    cols = ", ".join([*spec.columns, "month"])
    return (
        f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY month, "
        f"{', '.join(spec.key)} ORDER BY {spec.order_by} DESC, recorded_at DESC) AS rn__ "
        f"FROM {source}) WHERE rn__ = 1"
    )


# -- the dashboards' questions (portable SQL: DuckDB and Athena) -------------------------------
GROUP_BY_STATUS = "SELECT month, status, count(*) AS n FROM {} GROUP BY month, status"
QUERIES = {
    "attempts by status by month": GROUP_BY_STATUS.format("job_attempts"),
    "spot reclaims by project": (
        "SELECT project, count(*) AS attempts, "
        "sum(CASE WHEN spot_reclaim THEN 1 ELSE 0 END) AS reclaims "
        "FROM attempt_outcomes GROUP BY project"
    ),
    "latest state per job": (
        "SELECT status, count(*) AS jobs FROM (SELECT status, row_number() OVER "
        "(PARTITION BY job_id ORDER BY status_at DESC) AS rn FROM job_attempts) t "
        "WHERE rn = 1 GROUP BY status"
    ),
    "raw scan, no dedupe": GROUP_BY_STATUS.format("raw_job_attempts"),
}


# -- the suite -------------------------------------------------------------------------------
@dataclass
class Config:
    months: int
    jobs_per_month: int
    history_months: int
    lambda_batches: int
    repeat: int
    first_month: str = "2026-01"


def settings_for(base: Settings, name: str) -> Settings:
    """A lake beside the others: same back end, its own folder or prefix."""
    return Settings(lake_uri=f"{base.lake_uri}/{name}", s3=base.s3)


def write_batches(label: str, write: Callable[[pa.Table], object], batches: list[pa.Table]) -> None:
    progress = Progress(label, len(batches))
    for i, batch in enumerate(batches, 1):
        write(synth.lake_columns(batch, TABLE))
        progress.update(i)


def run_suite(base: Settings, cfg: Config, report: Report) -> None:  # noqa: PLR0915 - one script
    from analytics.engine import connect

    spec = table(TABLE)
    month_list = synth.months_from(cfg.first_month, cfg.months)
    stores = {
        name: LakeStore(settings_for(base, name))
        for name in ("hourly", "single", "proto_hourly", "proto_single", "lambda", "proto_lambda")
    }

    # 0. rows --------------------------------------------------------------------------------
    with measured() as ph:
        work = [
            synth.month_of_work(m, cfg.jobs_per_month, seed=i) for i, m in enumerate(month_list)
        ]
    n_rows = sum(w.attempts.num_rows for w in work)
    report.add(
        Row(
            "generate",
            f"{cfg.months} month(s) x {cfg.jobs_per_month:,} jobs (synth)",
            ph.seconds,
            rows=n_rows,
            rss_mb=ph.peak_mb,
            extra=f"{n_rows / cfg.months / cfg.jobs_per_month:.2f} rows/job",
        )
    )

    # 1. writes ------------------------------------------------------------------------------
    def write_row(step: str, store: LakeStore, ph: Phase, writes: int, base_s: float | None) -> Row:
        files, mb = lake_size(store, TABLE)
        return report.add(
            Row(
                "write",
                step,
                ph.seconds,
                base_s,
                files,
                mb,
                n_rows,
                ph.peak_mb,
                f"{writes:,} writes, {n_rows / ph.seconds:,.0f} rows/s",
            )
        )

    with measured() as ph:
        for w in work:
            store = stores["single"]
            store.write(TABLE, synth.lake_columns(w.attempts, TABLE))
    single = write_row("ONE write per month (baseline)", stores["single"], ph, cfg.months, None)

    hourly = [b for w in work for b in synth.batches_by_window(w.attempts, 3600)]
    with measured() as ph:
        write_batches("hourly batches", lambda b: stores["hourly"].write(TABLE, b), hourly)
    write_row("hourly batches", stores["hourly"], ph, len(hourly), single.seconds)

    with measured() as ph:
        for w in work:
            proto_write(stores["proto_single"], TABLE, synth.lake_columns(w.attempts, TABLE))
    write_row(
        "proto: ONE write, vectorised to_table+digest",
        stores["proto_single"],
        ph,
        cfg.months,
        single.seconds,
    )

    with measured() as ph:
        write_batches(
            "proto hourly batches", lambda b: proto_write(stores["proto_hourly"], TABLE, b), hourly
        )
    write_row("proto: hourly batches", stores["proto_hourly"], ph, len(hourly), single.seconds)

    # Lambda-sized batches: a slice, extrapolated to the month.
    lam = synth.batches_by_count(work[0].attempts, 10, 100)
    per_month = len(lam)  # Lambda invocations a month needs at this batch size
    lam = lam[: cfg.lambda_batches]
    lam_rows = sum(b.num_rows for b in lam)
    for label, key, fn in (
        ("Lambda batches of 10-100 events", "lambda", None),
        ("proto: Lambda batches", "proto_lambda", proto_write),
    ):
        store = stores[key]
        write = (
            (lambda b, s=store: s.write(TABLE, b))
            if fn is None
            else (lambda b, s=store, f=fn: f(s, TABLE, b))
        )
        with measured() as ph:
            write_batches(label, write, lam)
        files, mb = lake_size(store, TABLE)
        ms = ph.seconds / len(lam) * 1000
        report.add(
            Row(
                "write",
                f"{label} ({len(lam):,} of {per_month:,.0f} a month)",
                ph.seconds,
                None,
                files,
                mb,
                lam_rows,
                ph.peak_mb,
                f"{ms:.1f} ms/write; a month ~{ms * per_month / 1000:,.0f} s, "
                f"~{per_month:,.0f} files",
            )
        )

    # 2. listing and connecting --------------------------------------------------------------
    listed: dict[str, int] = {}
    list_base = None
    for key in ("single", "hourly", "lambda"):
        with measured() as ph:
            listed[key] = len(stores[key].files(TABLE))
        report.add(Row("list", f"LakeStore.files: {key}", ph.seconds, list_base, listed[key]))
        list_base = list_base or ph.seconds
    connect_base = None
    for key in ("single", "hourly", "lambda"):
        with measured() as ph:
            connect(stores[key].settings, stores[key]).close()
        report.add(Row("list", f"engine.connect: {key}", ph.seconds, connect_base, listed[key]))
        connect_base = connect_base or ph.seconds
    with measured() as ph:
        con = proto_connect(stores["hourly"])
    report.add(
        Row(
            "list",
            "proto: connect with union_by_name=false: hourly",
            ph.seconds,
            connect_base,
            listed["hourly"],
        )
    )
    best, first, _ = best_of(con, QUERIES["attempts by status by month"], cfg.repeat)
    con.close()
    report.add(
        Row(
            "list",
            "  then attempts by status by month: hourly",
            best,
            None,
            listed["hourly"],
            extra=f"first run {first:.3f} s",
        )
    )

    # 3. queries: many files, compacted, one write -----------------------------------------
    answers: dict[str, dict[str, list]] = {}

    def query_layout(layout: str, store: LakeStore) -> None:
        files, _ = lake_size(store, TABLE)
        con = connect(store.settings, store)
        answers[layout] = {}
        for q, sql in QUERIES.items():
            best, first, result = best_of(con, sql, cfg.repeat)
            answers[layout][q] = result
            base = base_times.get(q)
            report.add(
                Row("query", f"{q}: {layout}", best, base, files, extra=f"first run {first:.3f} s")
            )
            base_times.setdefault(q, best)
        con.close()

    base_times: dict[str, float] = {}
    query_layout("one write (baseline)", stores["single"])
    query_layout("hourly files", stores["hourly"])
    compact_months = sorted(
        {p.split("month=")[1].split("/")[0] for p in stores["hourly"].files(TABLE)}
    )
    with measured() as ph:
        for m in compact_months:
            stores["hourly"].compact(TABLE, m)
    files, mb = lake_size(stores["hourly"], TABLE)
    compact_row = report.add(
        Row(
            "compact",
            f"LakeStore.compact hourly ({len(compact_months)} months)",
            ph.seconds,
            None,
            files,
            mb,
            n_rows,
            ph.peak_mb,
        )
    )
    proto_copy = LakeStore(settings_for(base, "proto_hourly_copy"))
    copy_table(stores["proto_hourly"], proto_copy, TABLE)
    with measured() as ph:
        for m in compact_months:
            proto_compact(stores["proto_hourly"], TABLE, m)
    files, mb = lake_size(stores["proto_hourly"], TABLE)
    report.add(
        Row(
            "compact",
            "proto: vectorised dedupe, month listing",
            ph.seconds,
            compact_row.seconds,
            files,
            mb,
            n_rows,
            ph.peak_mb,
        )
    )
    with measured() as ph:
        for m in compact_months:
            proto_compact_duckdb(proto_copy, TABLE, m)
    files, mb = lake_size(proto_copy, TABLE)
    report.add(
        Row(
            "compact",
            "proto: DuckDB reads+dedupes, pyarrow writes",
            ph.seconds,
            compact_row.seconds,
            files,
            mb,
            n_rows,
            ph.peak_mb,
        )
    )
    con = connect(proto_copy.settings, proto_copy)
    duck_compacted = {q: best_of(con, QUERIES[q], 1)[2] for q in QUERIES if not q.startswith("raw")}
    con.close()
    query_layout("hourly, compacted", stores["hourly"])

    # The Lambda slice: many small files against the same rows compacted (stack-findings §6).
    base_times.clear()
    lam_store = stores["lambda"]
    lam_months = sorted({p.split("month=")[1].split("/")[0] for p in lam_store.files(TABLE)})
    for layout in ("lambda files", "lambda, compacted"):
        if layout == "lambda, compacted":
            for m in lam_months:
                lam_store.compact(TABLE, m)
        files, _ = lake_size(lam_store, TABLE)
        con = connect(lam_store.settings, lam_store)
        for q in ("raw scan, no dedupe", "attempts by status by month"):
            best, first, result = best_of(con, QUERIES[q], cfg.repeat)
            answers.setdefault(layout, {})[q] = result
            base_times.setdefault(q, best)
            report.add(
                Row(
                    "query",
                    f"{q}: {layout}",
                    best,
                    base_times[q] if layout == "lambda, compacted" else None,
                    files,
                    extra=f"first run {first:.3f} s",
                )
            )
        con.close()
    # Ratio the other way round reads better: many files / compacted.
    for q in ("raw scan, no dedupe", "attempts by status by month"):
        many = next(r for r in report.rows if r.step == f"{q}: lambda files")
        comp = next(r for r in report.rows if r.step == f"{q}: lambda, compacted")
        many.base, comp.base = comp.seconds, None

    # Deduplicated answers must not depend on the layout (raw ones do: compaction drops repeats).
    deduped = [q for q in QUERIES if not q.startswith("raw")]
    agree = all(
        answers[layout][q] == answers["one write (baseline)"][q]
        for layout in ("hourly files", "hourly, compacted")
        for q in deduped
    )
    agree_lam = (
        answers["lambda files"]["attempts by status by month"]
        == answers["lambda, compacted"]["attempts by status by month"]
    )
    agree_duck = all(duck_compacted[q] == answers["one write (baseline)"][q] for q in deduped)
    report.add(
        Row(
            "query",
            "deduplicated answers equal on every layout",
            0.0,
            extra="yes" if agree and agree_lam and agree_duck else "NO - layouts disagree",
        )
    )

    # 4. reading a month into Arrow -----------------------------------------------------------
    month = cfg.first_month
    single_store = stores["single"]
    with measured() as ph:
        via_store = single_store.read(TABLE, month=month)
    read_base = report.add(
        Row(
            "read",
            f"LakeStore.read(month={month})",
            ph.seconds,
            None,
            rows=via_store.num_rows,
            rss_mb=ph.peak_mb,
        )
    )
    with measured() as ph:
        raw = ds.dataset(
            [f for f in single_store.files(TABLE) if f"/month={month}/" in f],
            schema=spec.schema,
            format="parquet",
            filesystem=single_store.fs,
        ).to_table()
        t_read = time.perf_counter()
        via_proto = proto_latest_by_key(raw, spec)
        t_dedupe = time.perf_counter() - t_read
    report.add(
        Row(
            "read",
            "proto: same, vectorised latest_by_key",
            ph.seconds,
            read_base.seconds,
            rows=via_proto.num_rows,
            rss_mb=ph.peak_mb,
            extra=f"dedupe {t_dedupe:.3f} s of it",
        )
    )
    with measured() as ph:
        t0 = time.perf_counter()
        _ = latest_by_key(raw, spec)
        t_py = time.perf_counter() - t0
    report.add(
        Row(
            "read",
            "  of which store latest_by_key alone",
            t_py,
            None,
            rows=raw.num_rows,
            rss_mb=ph.peak_mb,
        )
    )
    with measured() as ph:
        con = connect(single_store.settings, single_store)
        via_duck = con.execute(f"SELECT * FROM {TABLE} WHERE month = '{month}'").fetch_arrow_table()
        con.close()
    report.add(
        Row(
            "read",
            "DuckDB view to Arrow, same month",
            ph.seconds,
            read_base.seconds,
            rows=via_duck.num_rows,
            rss_mb=ph.peak_mb,
        )
    )
    del raw, via_store, via_proto, via_duck

    # 5. history: partition pruning over a year ----------------------------------------------
    if cfg.history_months:
        hist = stores["proto_single"]  # one file per month, like a compacted lake
        base_month = synth.month_start(cfg.first_month)
        rows = synth.lake_columns(work[0].attempts, TABLE)
        with measured() as ph:
            for k in range(1, cfg.history_months + 1):
                earlier = synth.month_start(_months_back(cfg.first_month, k))
                proto_write(hist, TABLE, _shifted(rows, base_month - earlier, f"h{k:02d}"))
                note(f"history month {k}/{cfg.history_months} written")
        files, mb = lake_size(hist, TABLE)
        report.add(
            Row(
                "history",
                f"write {cfg.history_months} earlier months (proto writer)",
                ph.seconds,
                None,
                files,
                mb,
                rss_mb=ph.peak_mb,
            )
        )
        con = connect(hist.settings, hist)
        con.execute(
            f"CREATE VIEW job_attempts_by_month AS {proto_dedupe_sql(spec, 'raw_job_attempts')}"
        )
        mid = _months_back(cfg.first_month, cfg.history_months // 2)
        nxt = synth.next_month(mid)
        one_month = "SELECT status, count(*) FROM {} WHERE {} GROUP BY status"
        in_month = f"month = '{mid}'"
        in_range = (
            f"status_at >= TIMESTAMP '{mid}-01 00:00:00+00' "
            f"AND status_at < TIMESTAMP '{nxt}-01 00:00:00+00'"
        )
        history_q = {
            "full scan, raw, by month (baseline)": GROUP_BY_STATUS.format("raw_job_attempts"),
            f"one month, raw, WHERE {in_month} (pruned)": one_month.format(
                "raw_job_attempts", in_month
            ),
            "one month, raw, WHERE status_at range (row-group stats)": one_month.format(
                "raw_job_attempts", in_range
            ),
            "one month, dedupe view job_attempts WHERE month": one_month.format(
                "job_attempts", in_month
            ),
            "proto: one month, dedupe view partitioned by month": one_month.format(
                "job_attempts_by_month", in_month
            ),
            "full scan, dedupe view, by month": GROUP_BY_STATUS.format("job_attempts"),
        }
        base = None
        results = {}
        for label, sql in history_q.items():
            best, first, result = best_of(con, sql, cfg.repeat)
            results[label] = result
            report.add(Row("history", label, best, base, files, extra=f"first run {first:.3f} s"))
            base = base or best
        con.close()
        raw_month = [v for k, v in results.items() if k.startswith("one month, raw")]
        dedup_month = [v for k, v in results.items() if "one month, dedupe" in k]
        same = raw_month[0] == raw_month[1] and dedup_month[0] == dedup_month[1]
        report.add(
            Row(
                "history",
                "one-month answers agree (pruned = range; view = proto view)",
                0.0,
                extra="yes" if same else "NO",
            )
        )


def _months_back(month: str, k: int) -> str:
    year, mon = (int(p) for p in month.split("-"))
    index = year * 12 + mon - 1 - k
    return f"{index // 12}-{index % 12 + 1:02d}"


def _shifted(rows: pa.Table, back: timedelta, tag: str) -> pa.Table:
    """The same month moved ``back`` in time, with new job ids (so keys do not collide)."""
    delta = pa.scalar(int(back.total_seconds() * 1_000_000), pa.duration("us"))
    cols = {}
    for name in rows.column_names:
        col = rows[name]
        if pa.types.is_timestamp(col.type):
            col = pc.subtract(col, delta)
        elif name == "job_id":
            col = pc.binary_join_element_wise(tag, col, "-")
        cols[name] = col
    return pa.table(cols, schema=rows.schema)


# -- entry point -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--months", type=int, default=1, help="months of work written by each path")
    p.add_argument(
        "--jobs-per-month",
        type=int,
        default=None,
        help="Batch jobs a month (default 500,000; 50,000 with --quick or --s3)",
    )
    p.add_argument(
        "--history-months",
        type=int,
        default=None,
        help="earlier months added for the pruning step (default 11: a year; 2 quick)",
    )
    p.add_argument(
        "--lambda-batches",
        type=int,
        default=None,
        help="Lambda-sized writes measured (default 1,000; 300 quick)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs of each query (best is shown)")
    p.add_argument("--quick", action="store_true", help="a small, fast run (50,000 jobs)")
    p.add_argument(
        "--s3",
        action="store_true",
        help="also run against SeaweedFS (real S3 on 127.0.0.1); quick size by default",
    )
    p.add_argument("--workdir", type=Path, default=None, help="where the local lakes go (removed)")
    args = p.parse_args(argv)
    small = args.quick or args.s3
    cfg = Config(
        months=args.months,
        jobs_per_month=args.jobs_per_month or (50_000 if small else 500_000),
        history_months=args.history_months
        if args.history_months is not None
        else (2 if small else 11),
        lambda_batches=args.lambda_batches or (300 if small else 1_000),
        repeat=args.repeat,
    )
    note(f"config: {cfg}; {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="bench_lake_", dir=args.workdir))
    reports: list[Report] = []
    try:
        local = Report("local")
        run_suite(Settings(lake_uri=str(workdir / "lake")), cfg, local)
        reports.append(local)
        if args.s3:
            reports.append(_run_s3(cfg, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    title = (
        f"bench_lake: {cfg.months} month(s) x {cfg.jobs_per_month:,} jobs, "
        f"{cfg.history_months} history months, best of {cfg.repeat} query runs, "
        f"{os.cpu_count()} cores"
    )
    for r in reports:
        print_table(r, f"{title} - {r.backend} lake")
    if len(reports) == 2:
        _print_s3_ratios(*reports)


def _run_s3(cfg: Config, workdir: Path) -> Report:
    from tests.servers import ACCESS_KEY, SECRET_KEY, start_seaweed

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    note("starting SeaweedFS on 127.0.0.1")
    server = start_seaweed(workdir / "seaweed")
    try:
        settings = Settings(
            lake_uri=f"s3://lake/bench-{os.urandom(3).hex()}",
            s3=S3Options(
                region="us-east-1",
                endpoint_url=server.endpoint,
                access_key=ACCESS_KEY,
                secret_key=SECRET_KEY,
            ),
        )
        report = Report(f"S3 (SeaweedFS {server.endpoint})")
        run_suite(settings, cfg, report)
        return report
    finally:
        server.stop()
        note("SeaweedFS stopped")


def _print_s3_ratios(local: Report, s3: Report) -> None:
    print("\nS3 / local, same step and size")
    by_step = {(r.section, r.step): r for r in local.rows}
    for r in s3.rows:
        other = by_step.get((r.section, r.step))
        if other and other.seconds > 0 and r.seconds > 0:
            print(
                f"  {r.section:8s} {r.step:60s} {r.seconds:8.3f} s / {other.seconds:8.3f} s = "
                f"{r.seconds / other.seconds:6.2f}x"
            )


if __name__ == "__main__":
    main()
