"""The lake store at the center's scale: a month of ``job_attempts`` written as ingest writes it,
read as the runner reads it and queried as the dashboards query it, each figure set against a
baseline measured in the same run.

A month at full scale is 500,000 Batch jobs: about 2.5 M state-change rows (5 a job, 1 % of the
events delivered twice). The steps:

1. write   the month through ``LakeStore.write`` in hourly batches (a batching ingest Lambda),
           in Lambda-sized batches of 10-100 events (a slice, extrapolated to the month), and in
           ONE write (the baseline): time, files, MB, rows/s, peak RSS.
2. list    ``LakeStore.files`` and ``analytics.engine.connect`` over each layout.
3. lookup  the rows of 50 jobs, read the way ``pipeline_runner.service`` reads them (a pyarrow
           dataset over every file of the table, filtered by job id).
4. query   dashboard questions through ``engine.connect`` (DuckDB): on the hourly files, on the
           same after ``LakeStore.compact``, and on the one-write baseline (answers must agree);
           the Lambda slice as many small files against the same rows compacted.
5. read    ``LakeStore.read(month=…)``, which deduplicates in Python, against DuckDB's view.
6. history earlier months added; a one-month query with partition pruning against a full scan,
           and through the deduplicating view, which a month filter cannot prune through.

``proto`` rows run a proposed fix, prototyped in this file on the same data (the store and the
engine are not changed), to measure what it would gain. Peak RSS is the process's peak during the
step (the kernel's mark is reset before each step); "+MB" is that peak over the RSS at the start.
Progress goes to stderr, the table to stdout.

    uv run python benchmarks/bench_lake.py            # one month at full scale (~5 min on 2 cores)
    uv run python benchmarks/bench_lake.py --quick    # 50,000 jobs (~1 min)
    uv run python benchmarks/bench_lake.py --s3       # quick size, local and SeaweedFS side by side
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # lake, tests.servers and synth, from anywhere

import process_tree  # noqa: E402  (a process's peak RSS)
import synth  # noqa: E402

from lake.schemas import TableSpec, table  # noqa: E402
from lake.settings import S3Options, Settings  # noqa: E402
from lake.store import LakeStore, WriteResult, latest_by_key, to_table  # noqa: E402

TABLE = "job_attempts"
SPEC = table(TABLE)
MB = 1024 * 1024


# -- measuring ---------------------------------------------------------------------------------
def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0): getrusage then reports this step's peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MB
    return 0.0


@dataclass
class Phase:
    seconds: float = 0.0
    start_mb: float = 0.0
    peak_mb: float = 0.0
    cpu_s: float = 0.0


@contextlib.contextmanager
def measured() -> Iterator[Phase]:
    """Wall time, CPU time and peak RSS of a block (after handing freed Arrow memory back to the
    system, so the RSS at the start is what is still in use)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    _reset_peak_rss()
    phase = Phase(start_mb=_rss_mb())
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield phase
    finally:
        phase.seconds, phase.cpu_s = time.perf_counter() - t0, time.process_time() - c0
        phase.peak_mb = process_tree.own_peak_mib()


class Progress:
    """One stderr line per long step, updated in place at most twice a second."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.last, self.t0 = label, total, 0.0, time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last > 0.5 or done == self.total:
            self.last = now
            left = (now - self.t0) / done * (self.total - done) if done else 0
            print(
                f"\r  {self.label}: {done}/{self.total} ({now - self.t0:.0f} s, {left:.0f} s more)",
                end="\n" if done == self.total else "",
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
    base: float | None = None  # the baseline's seconds: the ratio printed is seconds / base
    files: int | None = None
    mb: float | None = None
    rows: int | None = None
    phase: Phase | None = None
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

    def find(self, section: str, step: str) -> Row:
        return next(r for r in self.rows if r.section == section and r.step == step)


def print_table(report: Report, header: str) -> None:
    print(f"\n{header}")
    cols = ("section", "step", "time s", "x base", "files", "MB", "rows", "peak RSS", "+MB", "")
    lines = [
        (
            r.section,
            r.step,
            f"{r.seconds:.3f}" if r.seconds else "",
            f"{r.seconds / r.base:.2f}" if r.base else "",
            "" if r.files is None else f"{r.files:,}",
            "" if r.mb is None else f"{r.mb:.1f}",
            "" if r.rows is None else f"{r.rows:,}",
            "" if r.phase is None else f"{r.phase.peak_mb:.0f}",
            "" if r.phase is None else f"{max(0.0, r.phase.peak_mb - r.phase.start_mb):.0f}",
            r.extra,
        )
        for r in report.rows
    ]
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(cols)]

    def fmt(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if 2 <= i <= 8 else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    print(fmt(cols))
    print(fmt(tuple("-" * w for w in widths)))
    for line in lines:
        print(fmt(line))


def lake_size(store: LakeStore) -> tuple[int, float]:
    """Files and MB of the table."""
    sel = pafs.FileSelector(store.table_path(TABLE), recursive=True, allow_not_found=True)
    infos = [i for i in store.fs.get_file_info(sel) if i.type == pafs.FileType.File]
    return len(infos), sum(i.size or 0 for i in infos) / MB


def months_in(store: LakeStore) -> list[str]:
    return sorted({f.split("/month=")[1].split("/")[0] for f in store.files(TABLE)})


def best_of(con, sql: str, repeat: int) -> tuple[float, float, list]:
    """(best seconds, first run's seconds, sorted result) of ``repeat`` runs of a query."""
    times, result = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return min(times), times[0], sorted(result, key=repr)


# -- prototypes of proposed fixes (measured here; the store and the engine are not changed) ----
def proto_digest(sorted_part: pa.Table, columns: tuple[str, ...]) -> str:
    """A digest of ``columns`` of rows already sorted by key, hashed from Arrow buffers (no
    Python string per row, no second sort: the typed sort order is as deterministic)."""
    fields = [pc.fill_null(pc.cast(sorted_part[c], pa.string()), "") for c in columns]
    joined = pc.binary_join_element_wise(*fields, "\x1f") if len(fields) > 1 else fields[0]
    terminated = pc.binary_join_element_wise(joined, pa.scalar(""), "\x1e")  # one row: 'a\x1fb\x1e'
    h = hashlib.sha256()
    for chunk in terminated.chunks:
        first, last = chunk.offset, chunk.offset + len(chunk)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
        h.update(memoryview(chunk.buffers()[2])[offsets[first] : offsets[last]])
    return h.hexdigest()[:24]


def _file_key(spec: TableSpec) -> tuple[str, ...]:
    key = tuple(getattr(spec, "file_key", spec.key))  # the key and a version column, if any
    if "*" in key:
        raise NotImplementedError("the prototype digest covers tables without a '*' version")
    return key


def _months(ts: pa.ChunkedArray) -> tuple[pa.Array, list[int]]:
    """Month of each time as yyyymm integers (13x faster than strftime), and the distinct ones."""
    months = pc.add(pc.multiply(pc.year(ts), 100), pc.month(ts))
    return months, sorted(pc.unique(months).to_pylist())


def proto_write(store: LakeStore, name: str, rows: pa.Table) -> WriteResult:
    """``LakeStore.write`` with integer months, no filter for a one-month batch and the buffer
    digest; same layout, file naming rule and atomic write (the store's own)."""
    spec = table(name)
    tbl = to_table(spec, rows)
    months, distinct = _months(tbl[spec.time_column])
    written, existing, n = [], [], 0
    for m in distinct:
        part = tbl if len(distinct) == 1 else tbl.filter(pc.equal(months, m))
        part = part.sort_by([(k, "ascending") for k in spec.key])
        month = f"{m // 100}-{m % 100:02d}"
        digest = proto_digest(part, _file_key(spec))
        path = f"{store.table_path(name)}/month={month}/part-{digest}.parquet"
        if store.fs.get_file_info(path).type == pafs.FileType.File:
            existing.append(path)
            continue
        store._write_atomic(part, path)
        written.append(path)
        n += part.num_rows
    return WriteResult(name, tuple(written), tuple(existing), n)


def proto_latest_by_key(tbl: pa.Table, spec: TableSpec) -> pa.Table:
    """``latest_by_key`` with Arrow kernels: sort row *indices* (not the table) by key and
    recency, mark where the key changes, and gather only the winners, once. The store sorts the
    whole table (gathering every column), loops in Python, then gathers again. Same rows, ties
    included, in the same (key) order."""
    n = tbl.num_rows
    if n == 0:
        return tbl
    ranking = tbl.select([*spec.key, spec.order_by, "recorded_at"]).append_column(
        "__i", pa.array(np.arange(n, dtype=np.int64))
    )
    order = pc.sort_indices(
        ranking,
        sort_keys=[(k, "ascending") for k in spec.key]
        + [(spec.order_by, "descending"), ("recorded_at", "descending"), ("__i", "descending")],
    )
    keys = tbl.select(list(spec.key)).take(order)
    first = np.zeros(n, dtype=bool)
    first[0] = True
    for k in spec.key:
        col = keys[k].combine_chunks()
        cur, prev = col.slice(1), col.slice(0, n - 1)
        differs = pc.not_equal(cur, prev)  # null where either side is null
        both_or_one_null = pc.not_equal(pc.is_null(cur), pc.is_null(prev))
        differs = pc.if_else(pc.is_null(differs), both_or_one_null, differs)
        first[1:] |= differs.to_numpy(zero_copy_only=False)
    return tbl.take(order.filter(pa.array(first)))


def _month_files(store: LakeStore, month: str) -> list[str]:
    folder = f"{store.table_path(TABLE)}/month={month}"
    infos = store.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and i.base_name.endswith(".parquet")
        and not i.base_name.startswith(".")
    )


def proto_compact(store: LakeStore, name: str, month: str) -> tuple[int, int]:
    """``LakeStore.compact`` listing only the month's folder, deduplicating with Arrow kernels
    (sorted once, by index), and naming the file by key AND version (``order_by``,
    ``recorded_at``), so an older file holding the same keys never replaces newer rows."""
    spec = table(name)
    files = _month_files(store, month)
    if len(files) <= 1:
        return len(files), len(files)
    tbl = ds.dataset(files, schema=spec.schema, format="parquet", filesystem=store.fs).to_table()
    tbl = proto_latest_by_key(tbl, spec)  # in key order already: no second sort
    digest = proto_digest(tbl, (*_file_key(spec), spec.order_by, "recorded_at"))
    path = f"{store.table_path(name)}/month={month}/part-{digest}.parquet"
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
    """``engine.connect`` itself with ``union_by_name`` off. That option makes DuckDB read every
    file's footer whenever a view is bound: at CREATE VIEW and again at every query."""
    import duckdb

    from analytics.engine import connect

    real = duckdb.connect
    duckdb.connect = lambda *a, **k: _WithoutUnionByName(real(*a, **k))
    try:
        con = connect(store.settings, store)
    finally:
        duckdb.connect = real
    if not con.rewrites:
        note("engine.connect no longer sets union_by_name = true: the proto row measures nothing")
    return con


def proto_dedupe_sql(spec: TableSpec, source: str) -> str:
    """``engine.dedupe_sql`` with ``month`` first in PARTITION BY, so a month filter prunes."""
    cols = ", ".join([*spec.columns, "month"])
    return (
        f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY month, "
        f"{', '.join(spec.key)} ORDER BY {spec.order_by} DESC, recorded_at DESC) AS rn__ "
        f"FROM {source}) WHERE rn__ = 1"
    )


def lookup(store: LakeStore, job_ids: pa.Array, months: list[str] | None = None) -> pa.Table:
    """The rows of some jobs, read as ``pipeline_runner.service`` reads them (every file of the
    table, filtered by job id); with ``months``, the proto: only those months' folders."""
    if months is None:
        files = store.files(TABLE)
    else:
        files = [f for m in months for f in _month_files(store, m)]
    dataset = ds.dataset(files, schema=SPEC.schema, format="parquet", filesystem=store.fs)
    return latest_by_key(dataset.to_table(filter=pc.field("job_id").isin(job_ids)), SPEC)


# -- the dashboards' questions (portable SQL: DuckDB and Athena) -------------------------------
BY_MONTH_STATUS = "SELECT month, status, count(*) AS n FROM {} GROUP BY month, status"
QUERIES = {
    "attempts by status by month": BY_MONTH_STATUS.format("job_attempts"),
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
    "raw scan, no dedupe": BY_MONTH_STATUS.format("raw_job_attempts"),
}
DEDUPED = [q for q in QUERIES if not q.startswith("raw")]  # the answers that must not vary


# -- the suite -------------------------------------------------------------------------------
@dataclass
class Config:
    months: int
    jobs_per_month: int
    history_months: int
    lambda_batches: int
    repeat: int
    first_month: str = "2026-01"


@dataclass
class Suite:
    base: Settings
    cfg: Config
    report: Report
    work: list[synth.Month] = field(default_factory=list)
    stores: dict[str, LakeStore] = field(default_factory=dict)

    def store(self, name: str) -> LakeStore:
        if name not in self.stores:
            b = self.base
            self.stores[name] = LakeStore(Settings(lake_uri=f"{b.lake_uri}/{name}", s3=b.s3))
        return self.stores[name]

    @property
    def n_rows(self) -> int:
        return sum(w.attempts.num_rows for w in self.work)

    def add(self, *args, **kwargs) -> Row:
        return self.report.add(Row(*args, **kwargs))

    def run(self) -> None:
        from analytics.engine import connect

        self.connect = connect
        for step in (
            self.generate,
            self.write,
            self.listing,
            self.lookups,
            self.queries,
            self.lambda_queries,
            self.reads,
            self.history,
        ):
            step()

    # 0 ----------------------------------------------------------------------------------------
    def generate(self) -> None:
        cfg = self.cfg
        with measured() as ph:
            self.work = [
                synth.month_of_work(m, cfg.jobs_per_month, seed=i)
                for i, m in enumerate(synth.months_from(cfg.first_month, cfg.months))
            ]
        per_job = self.n_rows / cfg.months / cfg.jobs_per_month
        self.add(
            "generate",
            f"{cfg.months} month(s) x {cfg.jobs_per_month:,} jobs (synth)",
            ph.seconds,
            rows=self.n_rows,
            phase=ph,
            extra=f"{per_job:.2f} rows/job",
        )

    # 1 ----------------------------------------------------------------------------------------
    def _write(
        self, step: str, lake: str, write: Callable, batches: list[pa.Table], base: float | None
    ) -> Row:
        store = self.store(lake)
        progress = Progress(step, len(batches))
        with measured() as ph:
            for i, batch in enumerate(batches, 1):
                write(store, TABLE, synth.lake_columns(batch, TABLE))
                progress.update(i)
        files, mb = lake_size(store)
        rows = sum(b.num_rows for b in batches)
        return self.add(
            "write",
            step,
            ph.seconds,
            base,
            files,
            mb,
            rows,
            ph,
            f"{len(batches):,} writes, {rows / ph.seconds:,.0f} rows/s",
        )

    def write(self) -> None:
        def store_write(s: LakeStore, name: str, rows: pa.Table) -> None:
            s.write(name, rows)

        months = [w.attempts for w in self.work]
        hourly = [b for w in self.work for b in synth.batches_by_window(w.attempts, 3600)]
        one = self._write("ONE write per month (baseline)", "single", store_write, months, None)
        self._write("hourly batches", "hourly", store_write, hourly, one.seconds)
        self._write("proto: ONE write per month", "proto_single", proto_write, months, one.seconds)
        self._write("proto: hourly batches", "proto_hourly", proto_write, hourly, one.seconds)
        # Lambda-sized batches: a slice of the first month, extrapolated to the whole month.
        lam = synth.batches_by_count(self.work[0].attempts, 10, 100)
        a_month = len(lam)
        for step, lake, fn in (
            ("Lambda batches of 10-100 events", "lambda", store_write),
            ("proto: Lambda batches", "proto_lambda", proto_write),
        ):
            row = self._write(step, lake, fn, lam[: self.cfg.lambda_batches], None)
            ms = row.seconds / min(a_month, self.cfg.lambda_batches) * 1000
            row.step += f" ({min(a_month, self.cfg.lambda_batches):,} of {a_month:,} a month)"
            row.extra = (
                f"{ms:.1f} ms/write; a month: ~{ms * a_month / 1000:,.0f} s, ~{a_month:,} files"
            )

    # 2 ----------------------------------------------------------------------------------------
    def listing(self) -> None:
        base, n = None, {}
        for lake in ("single", "hourly", "lambda"):
            with measured() as ph:
                n[lake] = len(self.store(lake).files(TABLE))
            self.add("list", f"LakeStore.files: {lake}", ph.seconds, base, n[lake])
            base = base or ph.seconds
        base = None
        for lake in ("single", "hourly", "lambda"):
            with measured() as ph:
                self.connect(self.store(lake).settings, self.store(lake)).close()
            self.add("list", f"engine.connect: {lake}", ph.seconds, base, n[lake])
            base = base or ph.seconds
        hourly = self.store("hourly")
        n = n["hourly"]
        with measured() as ph:
            con = self.connect(hourly.settings, hourly)
        self.add("list", "engine.connect: hourly (again)", ph.seconds, base, n)
        best, first, _ = best_of(con, QUERIES["attempts by status by month"], self.cfg.repeat)
        con.close()
        q = self.add(
            "list",
            "  then attempts by status by month",
            best,
            None,
            n,
            extra=f"first run {first:.3f} s",
        )
        with measured() as ph:
            con = proto_connect(hourly)
        self.add("list", "proto: engine.connect, union_by_name=false: hourly", ph.seconds, base, n)
        best, first, _ = best_of(con, QUERIES["attempts by status by month"], self.cfg.repeat)
        con.close()
        self.add(
            "list",
            "  then attempts by status by month",
            best,
            q.seconds,
            n,
            extra=f"first run {first:.3f} s",
        )

    # 3 ----------------------------------------------------------------------------------------
    def _job_ids(self, n: int = 50) -> pa.Array:
        jobs = self.work[0].jobs["job_id"]
        rng = np.random.default_rng(3)
        return jobs.take(pa.array(rng.choice(len(jobs), size=min(n, len(jobs)), replace=False)))

    def lookups(self) -> None:
        ids = self._job_ids()
        lookup(self.store("single"), ids[:1])  # warm-up: the first dataset scan pays one-off costs
        base = None
        for lake in ("single", "hourly"):
            store = self.store(lake)
            with measured() as ph:
                found = lookup(store, ids)
            self.add(
                "lookup",
                f"50 jobs, every file (runner's read): {lake}",
                ph.seconds,
                base,
                len(store.files(TABLE)),
                rows=found.num_rows,
                phase=ph,
            )
            base = base or ph.seconds

    # 4 ----------------------------------------------------------------------------------------
    def _query_layout(self, layout: str, store: LakeStore, base: dict[str, float]) -> dict:
        files, _ = lake_size(store)
        con = self.connect(store.settings, store)
        answers = {}
        for q, sql in QUERIES.items():
            best, first, answers[q] = best_of(con, sql, self.cfg.repeat)
            self.add(
                "query",
                f"{q}: {layout}",
                best,
                base.get(q),
                files,
                extra=f"first run {first:.3f} s",
            )
            base.setdefault(q, best)
        con.close()
        return answers

    def queries(self) -> None:
        base: dict[str, float] = {}
        answers = {
            "one write": self._query_layout("one write (baseline)", self.store("single"), base)
        }
        answers["hourly"] = self._query_layout("hourly files", self.store("hourly"), base)
        compact_base = None
        for label, lake, compact in (
            ("LakeStore.compact", "hourly", LakeStore.compact),
            ("proto: compact", "proto_hourly", proto_compact),
        ):
            store = self.store(lake)
            months = months_in(store)
            with measured() as ph:
                for m in months:
                    compact(store, TABLE, m)
            files, mb = lake_size(store)
            step = f"{label}: hourly ({len(months)} months)"
            self.add("compact", step, ph.seconds, compact_base, files, mb, self.n_rows, ph)
            compact_base = compact_base or ph.seconds
        answers["compacted"] = self._query_layout("hourly, compacted", self.store("hourly"), base)
        con = self.connect(self.store("proto_hourly").settings, self.store("proto_hourly"))
        answers["proto compacted"] = {q: best_of(con, QUERIES[q], 1)[2] for q in DEDUPED}
        con.close()
        same = all(a[q] == answers["one write"][q] for a in answers.values() for q in DEDUPED)
        self.add(
            "query",
            "deduplicated answers equal on all 4 layouts",
            0.0,
            extra="yes" if same else "NO - the layouts disagree",
        )

    def lambda_queries(self) -> None:
        """The Lambda slice as many small files, against the same rows compacted (§6: 5,000
        small files were 5.7x slower than one file)."""
        store = self.store("lambda")
        files, _ = lake_size(store)
        many = {}
        con = self.connect(store.settings, store)
        for q in ("raw scan, no dedupe", "attempts by status by month"):
            many[q] = best_of(con, QUERIES[q], self.cfg.repeat)
        con.close()
        for m in months_in(store):
            store.compact(TABLE, m)
        compacted, _ = lake_size(store)
        con = self.connect(store.settings, store)
        for q, (best, first, answer) in many.items():
            c_best, c_first, c_answer = best_of(con, QUERIES[q], self.cfg.repeat)
            self.add(
                "query",
                f"{q}: Lambda slice, compacted",
                c_best,
                None,
                compacted,
                extra=f"first run {c_first:.3f} s",
            )
            agree = "" if q.startswith("raw") or answer == c_answer else "; ANSWERS DIFFER"
            self.add(
                "query",
                f"{q}: Lambda slice, small files",
                best,
                c_best,
                files,
                extra=f"first run {first:.3f} s{agree}",
            )
        con.close()

    # 5 ----------------------------------------------------------------------------------------
    def reads(self) -> None:
        month, store = self.cfg.first_month, self.store("single")
        with measured() as ph:
            via_store = store.read(TABLE, month=month)
        base = self.add(
            "read",
            f"LakeStore.read(month={month})",
            ph.seconds,
            None,
            rows=via_store.num_rows,
            phase=ph,
        ).seconds
        files = _month_files(store, month)
        with measured() as ph:
            raw = ds.dataset(files, schema=SPEC.schema, format="parquet", filesystem=store.fs)
            raw = raw.to_table()
        self.add(
            "read", "  of which reading the files", ph.seconds, base, rows=raw.num_rows, phase=ph
        )
        with measured() as ph:
            deduped = latest_by_key(raw, SPEC)
        self.add(
            "read", "  of which latest_by_key", ph.seconds, base, rows=deduped.num_rows, phase=ph
        )
        with measured() as ph:
            proto = proto_latest_by_key(raw, SPEC)
        same = proto.num_rows == deduped.num_rows and pc.sum(
            proto["recorded_at"].cast(pa.int64())
        ).equals(pc.sum(deduped["recorded_at"].cast(pa.int64())))
        self.add(
            "read",
            "proto: latest_by_key with Arrow kernels",
            ph.seconds,
            base,
            rows=proto.num_rows,
            phase=ph,
            extra="same rows" if same else "ROWS DIFFER",
        )
        del via_store, raw, deduped, proto
        with measured() as ph:
            con = self.connect(store.settings, store)
            res = con.execute(f"SELECT * FROM {TABLE} WHERE month = '{month}'")
            duck = (
                res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table()
            )
            con.close()
        self.add(
            "read",
            "DuckDB view to Arrow, same month",
            ph.seconds,
            base,
            rows=duck.num_rows,
            phase=ph,
        )

    # 6 ----------------------------------------------------------------------------------------
    def history(self) -> None:
        cfg = self.cfg
        if not cfg.history_months:
            return
        hist = self.store("proto_single")  # one file per month, as a compacted lake has
        with measured() as ph:
            # One month sorted by key once, moved back in time month by month, new job ids.
            rows = synth.lake_columns(self.work[0].attempts, TABLE)
            rows = rows.sort_by([(k, "ascending") for k in SPEC.key])
            progress = Progress("history months", cfg.history_months)
            for k in range(1, cfg.history_months + 1):
                month = _months_back(cfg.first_month, k)
                part = _moved(
                    rows, synth.month_start(cfg.first_month) - synth.month_start(month), k
                )
                months, _ = _months(part["status_at"])
                part = part.filter(pc.equal(months, int(month.replace("-", ""))))
                hist._write_atomic(
                    part, f"{hist.table_path(TABLE)}/month={month}/part-h{k:02d}.parquet"
                )
                progress.update(k)
        files, mb = lake_size(hist)
        self.add(
            "history",
            f"add {cfg.history_months} earlier months, one file each",
            ph.seconds,
            None,
            files,
            mb,
            phase=ph,
        )

        ids = self._job_ids()
        with measured() as ph:
            found = lookup(hist, ids)
        base = self.add(
            "history",
            "lookup 50 jobs, every file (runner's read)",
            ph.seconds,
            None,
            files,
            rows=found.num_rows,
            phase=ph,
        ).seconds
        recent = [
            synth.next_month(_months_back(cfg.first_month, 1)),
            _months_back(cfg.first_month, 1),
        ]
        with measured() as ph:
            found_p = lookup(hist, ids, recent)
        self.add(
            "history",
            "proto: lookup in the event's month and the one before",
            ph.seconds,
            base,
            2,
            rows=found_p.num_rows,
            phase=ph,
            extra="same rows" if found_p.num_rows == found.num_rows else "ROWS DIFFER",
        )

        con = self.connect(hist.settings, hist)
        con.execute(
            f"CREATE VIEW job_attempts_by_month AS {proto_dedupe_sql(SPEC, 'raw_job_attempts')}"
        )
        mid = _months_back(cfg.first_month, (cfg.history_months + 1) // 2)
        one = "SELECT status, count(*) FROM {} WHERE {} GROUP BY status"
        in_month = f"month = '{mid}'"
        in_range = (
            f"status_at >= TIMESTAMP '{mid}-01 00:00:00+00' "
            f"AND status_at < TIMESTAMP '{synth.next_month(mid)}-01 00:00:00+00'"
        )
        queries = {
            "full scan, raw, by month (baseline)": BY_MONTH_STATUS.format("raw_job_attempts"),
            f"one month, raw, WHERE {in_month} (pruned)": one.format("raw_job_attempts", in_month),
            "one month, raw, WHERE status_at range": one.format("raw_job_attempts", in_range),
            "one month, view job_attempts WHERE month": one.format("job_attempts", in_month),
            "proto: one month, view partitioned by month": one.format(
                "job_attempts_by_month", in_month
            ),
            "full scan, view job_attempts, by month": BY_MONTH_STATUS.format("job_attempts"),
        }
        base, results = None, {}
        for label, sql in queries.items():
            best, first, results[label] = best_of(con, sql, cfg.repeat)
            self.add("history", label, best, base, files, extra=f"first run {first:.3f} s")
            base = base or best
        con.close()
        answers = list(results.values())
        same = answers[1] == answers[2] and answers[3] == answers[4]
        self.add(
            "history",
            "one-month answers agree (pruned = range, view = proto view)",
            0.0,
            extra="yes" if same else "NO",
        )


def _months_back(month: str, k: int) -> str:
    year, mon = (int(p) for p in month.split("-"))
    index = year * 12 + mon - 1 - k
    return f"{index // 12}-{index % 12 + 1:02d}"


def _moved(rows: pa.Table, back, k: int) -> pa.Table:
    """The rows moved ``back`` in time, with job ids of their own. A suffix keeps the key order
    and the spread of ids (a prefix would let row-group statistics skip whole months)."""
    delta = pa.scalar(int(back.total_seconds() * 1_000_000), pa.duration("us"))
    cols = {
        name: pc.subtract(col, delta)
        if pa.types.is_timestamp(col.type)
        else pc.binary_join_element_wise(f"h{k:02d}", col, "-")
        if name == "job_id"
        else col
        for name, col in zip(rows.column_names, rows.columns, strict=True)
    }
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
        help="earlier months added for the pruning step (default 5; 2 quick)",
    )
    p.add_argument(
        "--lambda-batches",
        type=int,
        default=None,
        help="Lambda-sized writes measured (default 1,000; 300 quick)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs of each query, the best is shown (default 2; 3 quick)",
    )
    p.add_argument("--quick", action="store_true", help="a small, fast run (50,000 jobs)")
    p.add_argument(
        "--s3",
        action="store_true",
        help="also run against SeaweedFS (real S3 on 127.0.0.1); quick size unless given",
    )
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temporary lakes")
    args = p.parse_args(argv)
    small = args.quick or args.s3
    cfg = Config(
        months=args.months,
        jobs_per_month=args.jobs_per_month or (50_000 if small else 500_000),
        history_months=args.history_months
        if args.history_months is not None
        else (2 if small else 5),
        lambda_batches=args.lambda_batches or (300 if small else 1_000),
        repeat=args.repeat or (3 if small else 2),
    )
    note(f"{cfg}; {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="bench_lake_", dir=args.workdir))
    reports: list[Report] = []
    t0 = time.perf_counter()
    try:
        reports.append(Report("local"))
        Suite(Settings(lake_uri=str(workdir / "lake")), cfg, reports[-1]).run()
        if args.s3:
            reports.append(_run_s3(cfg, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    title = (
        f"bench_lake: {cfg.months} month(s) x {cfg.jobs_per_month:,} jobs, {cfg.history_months} "
        f"history months, best of {cfg.repeat} query runs, {os.cpu_count()} cores, "
        f"{time.perf_counter() - t0:.0f} s in all"
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
        s3 = S3Options(
            region="us-east-1",
            endpoint_url=server.endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        )
        report = Report(f"S3 (SeaweedFS at {server.endpoint})")
        Suite(Settings(lake_uri=f"s3://lake/bench-{os.urandom(3).hex()}", s3=s3), cfg, report).run()
        return report
    finally:
        server.stop()
        note("SeaweedFS stopped")


def _print_s3_ratios(local: Report, s3: Report) -> None:
    print("\nS3 / local, same step and size")
    by_step = {(r.section, r.step): r for r in local.rows}
    width = max(len(r.step) for r in s3.rows)
    for r in s3.rows:
        other = by_step.get((r.section, r.step))
        if other and other.seconds > 0 and r.seconds > 0:
            print(
                f"  {r.section:8s} {r.step:{width}s} {r.seconds:8.3f} s / {other.seconds:8.3f} s"
                f" = {r.seconds / other.seconds:6.2f}x"
            )


if __name__ == "__main__":
    main()
