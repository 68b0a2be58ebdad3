from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from lake.errors import SchemaError
from lake.schemas import table
from lake.store import LakeStore, to_table


def _runs(n: int, month: int = 1):
    return [
        {
            "run_id": f"r{i}",
            "sample_id": f"S{i}",
            "status": "DISPATCHED",
            "status_at": datetime(2026, month, 1 + i % 28, tzinfo=UTC),
        }
        for i in range(n)
    ]


@pytest.fixture(params=["local", "s3"])
def store(request, lake_settings) -> LakeStore:
    settings = lake_settings if request.param == "local" else request.getfixturevalue("s3_settings")
    return LakeStore(settings)


@pytest.mark.integration
def test_write_partitions_by_month_and_reads_back(store):
    rows = _runs(3, month=1) + _runs(2, month=2)
    rows[3]["run_id"], rows[4]["run_id"] = "r10", "r11"
    result = store.write("runs", rows)
    assert result.rows_written == 5
    assert sorted(p.split("/")[-2] for p in result.files_written) == [
        "month=2026-01",
        "month=2026-02",
    ]
    back = store.read("runs")
    assert sorted(back.column("run_id").to_pylist()) == ["r0", "r1", "r10", "r11", "r2"]
    assert set(back.column("schema_version").to_pylist()) == {1}


@pytest.mark.integration
def test_repeated_write_is_a_noop_whatever_the_row_order(store):
    rows = _runs(4)
    first = store.write("runs", rows)
    again = store.write("runs", list(reversed(rows)))
    assert again.files_written == () and again.files_existing == first.files_written
    assert again.rows_written == 0
    assert len(store.files("runs")) == 1
    assert store.read("runs", dedupe=False).num_rows == 4


@pytest.mark.integration
def test_overlapping_writes_are_deduplicated_on_read(store):
    store.write("runs", _runs(3))
    store.write("runs", _runs(5))
    assert store.read("runs", dedupe=False).num_rows == 8
    assert store.read("runs").num_rows == 5


@pytest.mark.integration
def test_compaction_leaves_one_file_with_unique_keys(store):
    store.write("runs", _runs(3))
    store.write("runs", _runs(5))
    assert store.compact("runs", "2026-01") == (2, 1)
    (only,) = store.files("runs")
    assert pq.read_metadata(only, filesystem=store.fs).num_rows == 5
    assert store.compact("runs", "2026-01") == (1, 1)


def test_missing_required_value_is_refused_and_nothing_written(lake_settings):
    store = LakeStore(lake_settings)
    rows = _runs(2)
    del rows[1]["status"]
    with pytest.raises(
        SchemaError, match=r"runs: column 'status' is required but missing in row 1"
    ):
        store.write("runs", rows)
    assert store.files("runs") == []


def test_unknown_column_is_refused(lake_settings):
    with pytest.raises(SchemaError, match="unknown column"):
        LakeStore(lake_settings).write("runs", [{**_runs(1)[0], "colour": "red"}])


def test_no_partial_file_is_left_when_a_write_fails(lake_settings, monkeypatch):
    store = LakeStore(lake_settings)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(Exception, match="disk full"):
        store.write("runs", _runs(2))
    leftovers = [
        p
        for p in (
            store.fs.get_file_info(
                __import__("pyarrow.fs").fs.FileSelector(
                    store.root, recursive=True, allow_not_found=True
                )
            )
        )
        if p.type.name == "File"
    ]
    assert leftovers == []


def _result(at: datetime, passed: bool) -> dict:
    return {
        "sample_id": "S1",
        "run_id": "r1",
        "suite": "sample_qc",
        "check_id": "overall",
        "passed": passed,
        "verdict": "pass" if passed else "fail",
        "evaluated_at": at,
    }


def test_a_re_evaluation_is_a_new_version_that_wins_and_a_repeat_is_not(lake_settings):
    store = LakeStore(lake_settings)
    first = datetime(2026, 1, 5, tzinfo=UTC)
    store.write("qc_results", [_result(first, False)])
    assert store.write("qc_results", [_result(first, False)]).files_written == ()
    store.write("qc_results", [_result(datetime(2026, 1, 9, tzinfo=UTC), True)])
    assert len(store.files("qc_results")) == 2
    (latest,) = store.read("qc_results").to_pylist()
    assert latest["verdict"] == "pass"
    store.compact("qc_results", "2026-01")
    assert [r["verdict"] for r in store.read("qc_results", dedupe=False).to_pylist()] == ["pass"]


def test_views_of_an_empty_lake_are_typed_and_visible_to_every_cursor(lake_settings):
    from analytics.engine import connect

    con = connect(lake_settings)
    cursor = con.cursor()  # the dashboard's threads each use one
    assert cursor.sql("SELECT count(*) FROM runs").fetchone() == (0,)
    types = {r[0]: r[1] for r in cursor.sql("DESCRIBE job_attempts").fetchall()}
    assert types["status_at"] == "TIMESTAMP WITH TIME ZONE" and types["attempt"] == "INTEGER"
    assert types["month"] == "VARCHAR"


def test_a_restated_bill_line_is_a_new_version_and_the_same_file_again_is_not(lake_settings):
    store = LakeStore(lake_settings)
    line = {
        "line_item_id": "li-1",
        "time_interval": "2018-10-01T00:00:00Z/2018-10-01T01:00:00Z",
        "usage_type": "BoxUsage:c5.large",
        "resource_id": "i-1",
        "usage_start_at": datetime(2018, 10, 1, tzinfo=UTC),
        "unblended_cost_usd": 0.085,
        "export_format": "legacy-cur",
    }
    store.write("billed_costs", [line])
    assert store.write("billed_costs", [line]).files_written == ()
    store.write("billed_costs", [{**line, "unblended_cost_usd": 0.08}])  # restated
    (latest,) = store.read("billed_costs").to_pylist()
    assert latest["unblended_cost_usd"] == 0.08


def test_files_written_before_an_additive_column_read_as_null_in_the_views(lake_settings):
    from analytics.engine import connect

    store = LakeStore(lake_settings)
    old = to_table(table("runs"), _runs(2)).drop_columns(["output_prefix"])  # an older writer
    path = f"{store.table_path('runs')}/month=2026-01/part-old.parquet"
    store.fs.create_dir(path.rsplit("/", 1)[0])
    pq.write_table(old, path, filesystem=store.fs)
    rows = (
        connect(lake_settings).sql("SELECT run_id, output_prefix FROM runs ORDER BY 1").fetchall()
    )
    assert rows == [("r0", None), ("r1", None)]
    assert store.read("runs").column("output_prefix").null_count == 2


def test_views_dedupe_within_a_month_except_where_the_time_is_processing_time(lake_settings):
    from analytics.engine import connect

    store = LakeStore(lake_settings)
    store.write("qc_results", [_result(datetime(2026, 1, 30, tzinfo=UTC), False)])
    store.write("qc_results", [_result(datetime(2026, 2, 2, tzinfo=UTC), True)])  # re-gated
    con = connect(lake_settings)
    assert con.sql("SELECT verdict, month FROM qc_results").fetchall() == [("pass", "2026-02")]
    from analytics.engine import dedupe_sql

    assert "PARTITION BY month, run_id, status " in dedupe_sql(table("runs"), "raw_runs")
    assert "PARTITION BY run_id, suite, check_id " in dedupe_sql(table("qc_results"), "raw")



@pytest.mark.integration
def test_named_dictionary_columns_are_the_only_dictionary_encoded_ones(store):
    rows = _runs(40)
    named = store.write("runs", rows, dictionary=["sample_id", "status"]).files_written
    later = [{**r, "run_id": f"later{i}"} for i, r in enumerate(_runs(3, month=2))]
    default = store.write("runs", later).files_written
    assert len(named) == len(default) == 1

    def encoded(path: str) -> set[str]:
        with store.fs.open_input_file(path) as f:
            group = pq.ParquetFile(f).metadata.row_group(0)
        return {group.column(i).path_in_schema for i in range(group.num_columns)
                if group.column(i).has_dictionary_page}

    assert encoded(named[0]) == {"sample_id", "status"}
    assert {"run_id", "sample_id", "status"} <= encoded(default[0])  # Parquet's default: all
    back = store.read("runs").to_pylist()
    assert sorted((r["run_id"], r["sample_id"]) for r in back) == \
        sorted((r["run_id"], r["sample_id"]) for r in rows + later)
