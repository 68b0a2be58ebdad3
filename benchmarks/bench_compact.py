"""Peak memory of compacting one month of a table, against reading the same files into Arrow.

    nice -n 10 uv run python benchmarks/bench_compact.py --lake COPY/lake        # job_attempts
    uv run python benchmarks/bench_compact.py --lake COPY/lake --table costs --month 2025-03

``--lake`` is a lake of ``bench_year.py`` (a copy: its cache is compacted already). The month
(default: the one whose ``job_attempts`` file is largest) is rewritten as it arrives, in
``--deliveries`` files (its rows cut in order, a tenth of each delivery sent again as a
redelivery), into a fresh lake under ``--workdir``, which is then compacted. Printed: peak RSS and
time of reading those files into one Arrow table (the baseline: what any compaction that holds the
month in memory needs), of the compaction, and their ratio; and whether the compacted file holds
exactly the month's rows of the source lake. The fresh lake is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench_lake import measured  # noqa: E402  (wall, CPU, peak RSS of a block)

from lake.schemas import table  # noqa: E402
from lake.settings import Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402


def largest_month(store: LakeStore, name: str) -> str:
    sizes = {f.split("/month=")[1].split("/")[0]: store.fs.get_file_info(f).size
             for f in store.files(name)}
    return max(sizes, key=lambda m: sizes[m])


def deliver(source: LakeStore, target: LakeStore, name: str, month: str, n: int) -> int:
    """The month's rows written to ``target`` in ``n`` files, each with a tenth of it redelivered
    in the next file; the rows written."""
    tbl = source.read(name, month=month, dedupe=False)
    step = -(-tbl.num_rows // n)
    written = 0
    for k in range(n):
        part = tbl.slice(k * step, step)
        if k:  # the tail of the delivery before, sent again
            prev = tbl.slice((k - 1) * step, step)
            part = pa.concat_tables([prev.slice(prev.num_rows - prev.num_rows // 10), part])
        target.write(name, part)
        written += part.num_rows
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lake", required=True, help="a bench_year lake (a copy)")
    p.add_argument("--table", default="job_attempts")
    p.add_argument("--month", default=None, help="YYYY-MM (default: the largest)")
    p.add_argument("--deliveries", type=int, default=4)
    p.add_argument("--workdir", default=None, help="parent of the fresh lake (default: /tmp)")
    args = p.parse_args(argv)

    source = LakeStore(Settings(lake_uri=args.lake))
    month = args.month or largest_month(source, args.table)
    work = Path(tempfile.mkdtemp(prefix="bench-compact-", dir=args.workdir))
    try:
        store = LakeStore(Settings(lake_uri=str(work / "lake")))
        rows = deliver(source, store, args.table, month, args.deliveries)
        files = store.files(args.table, [month])
        with measured() as read:
            tbl = store.read(args.table, month=month, dedupe=False)
            arrow_mb = tbl.nbytes / 2**20
            del tbl
        with measured() as comp:
            before, after = store.compact(args.table, month)
        (out,) = store.files(args.table, [month])
        by_key = [(k, "ascending") for k in table(args.table).key]
        got = pq.read_table(out, filesystem=store.fs).sort_by(by_key)
        want = source.read(args.table, month=month).sort_by(by_key)
        same = got.select(want.column_names).equals(want)
        print(f"\n## compaction of {args.table} {month}: {rows:,} rows in {len(files)} files "
              f"({arrow_mb:,.0f} MB in Arrow), {before} files -> {after}")
        print("| step | wall s | CPU s | peak RSS MB | ÷ read |")
        print("|---|---|---|---|---|")
        for label, m in (("read the files into Arrow (baseline)", read), ("compact", comp)):
            print(f"| {label} | {m.seconds:.1f} | {m.cpu_s:.1f} | {m.peak_mb:,.0f} | "
                  f"{m.peak_mb / read.peak_mb:.2f} |")
        print(f"compacted file = the source month's rows: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
