"""The Parquet files of ``qc_histograms``: written for speed, read back value for value.

A run keeps ~35,000 histogram bins; encoding them was half of a bulk ingest's time. The files
keep min/max statistics only on the run's id and time (the rows are in run order: what lets a
reader skip row groups), and store line numbers and floats in encodings that are cheaper to
write; every reader must still get every value.
"""

from __future__ import annotations

import math

import duckdb
import pyarrow.parquet as pq

from ingest.dragen.service import ingest_folder
from lake.store import LakeStore
from tests.ingest.dragen.conftest import RUN_AT, parse_folder


def _columns(store: LakeStore, path: str) -> dict[str, pq.ColumnChunkMetaData]:
    with store.fs.open_input_file(path) as f:
        group = pq.ParquetFile(f).metadata.row_group(0)
    return {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}


def test_histogram_files_have_statistics_on_the_run_only_and_every_value(
        lake_settings, dragen_ref) -> None:
    store = LakeStore(lake_settings)
    folder = dragen_ref / "T_SRR7890936_50pc"
    summary = ingest_folder(store, folder, sample_id="S", run_id="R", run_at=RUN_AT)
    assert summary.rows["qc_histograms"] > 80_000
    (path,) = store.files("qc_histograms")
    columns = _columns(store, path)
    assert {name for name, c in columns.items() if c.is_stats_set} == \
        {"run_id", "run_at"}
    assert columns["run_id"].statistics.min == columns["run_id"].statistics.max == "R"
    assert "DELTA_BINARY_PACKED" in columns["line"].encodings
    assert {"BYTE_STREAM_SPLIT"} <= set(columns["x"].encodings) & set(columns["value"].encodings)

    expected = parse_folder(folder).tables["qc_histograms"]
    key = ("source_file", "histogram", "series", "label")
    want = sorted(zip(*(expected.column(c).to_pylist() for c in (*key, "line", "x", "x_end",
                                                                  "value")), strict=True))
    # DuckDB reads the file as the views do, filtering on run_id and histogram
    got = sorted(duckdb.sql(
        f"SELECT {', '.join(key)}, line, x, x_end, value FROM read_parquet('{path}') "
        "WHERE run_id = 'R' AND histogram IN ('fragment_length', 'coverage_depth', "
        "'coverage_depth_binned')").fetchall())
    assert len(got) == len(want) == expected.num_rows
    assert got == want
    assert any(math.isinf(row[6]) for row in got)  # the open last bins (1000+) kept as inf
