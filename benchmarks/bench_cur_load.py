"""Load time of the real 119k-row AWS CUR sample, against a plain pyarrow read in the same process.

Prints, best of N runs: the baseline (pyarrow reads the whole file), our reader plus normalizer
(ingest.cur: needed columns, typed, tags, quarantine checks), and the full ``load_cur_files`` into
a fresh local lake (normalize + LakeStore.write), then the reload of the same file (writes nothing).

    uv run python benchmarks/bench_cur_load.py [--runs 3] [--file PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from ingest.cur import load_cur_files, normalize_cur, open_cur
from lake.settings import Settings
from lake.store import LakeStore

SAMPLE = (Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reference-data" / "aws-cur"
          / "Oct2018-WorkshopCUR-00001.snappy.parquet")


def best(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def normalize_only(path: str) -> int:
    cur = open_cur(path)
    return sum(normalize_cur(t, path, first_row=f, fmt=cur.export_format).rows.num_rows
               for t, f in cur.batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", default=str(SAMPLE))
    args = ap.parse_args()
    path = args.file
    rows = pq.ParquetFile(path).metadata.num_rows

    base_s, _ = best(lambda: pq.read_table(path), args.runs)
    norm_s, n = best(lambda: normalize_only(path), args.runs)
    assert n == rows

    def fresh_load():
        store = LakeStore(Settings(lake_uri=tempfile.mkdtemp(prefix="bench-cur-")))
        return store, load_cur_files([path], store)

    load_s, (store, (res,)) = best(fresh_load, args.runs)
    assert res.rows_loaded == rows, res
    reload_s, (again,) = best(lambda: load_cur_files([path], store), args.runs)
    assert again.rows_loaded == 0

    print(f"file: {path}")
    print(f"rows: {rows:,}  (best of {args.runs} runs)")
    print(f"{'step':<50}{'seconds':>9}{'rows/s':>13}{'x baseline':>12}")
    for label, s in (("baseline: pyarrow.parquet.read_table (all cols)", base_s),
                     ("read needed columns + normalize_cur", norm_s),
                     ("load_cur_files into a new lake", load_s),
                     ("load_cur_files again (nothing new)", reload_s)):
        print(f"{label:<50}{s:>9.3f}{rows / s:>13,.0f}{s / base_s:>12.1f}")
    print(f"store.write share of the load: {(load_s - norm_s) / load_s:.0%}")


if __name__ == "__main__":
    main()
