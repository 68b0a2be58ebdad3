"""The engine interface on DuckDB: tables, rows, errors, the query log, and `lake query`."""

from __future__ import annotations

import pyarrow as pa
import pytest
from click.testing import CliRunner

from analytics.dialect import to_trino
from analytics.duckdb_engine import DuckDBEngine
from analytics.engine import (
    QueryError,
    QueryStats,
    as_engine,
    connect,
    describe_queries,
    describe_query,
    open_engine,
)
from lake.store import LakeStore
from pipeline_runner.prices import PriceBook
from seqledger.cli import main


@pytest.fixture
def priced(lake_settings):
    LakeStore(lake_settings).write("prices", PriceBook.load_default().rows())
    return lake_settings


def test_duckdb_answers_through_the_interface_with_athenas_types(priced):
    engine = open_engine(priced)
    assert isinstance(engine, DuckDBEngine)
    sql = ("SELECT price_kind, sum(CAST(1 AS INTEGER)) AS n FROM prices WHERE price_kind = ? "
           "GROUP BY 1")
    t = engine.table(sql, ["s3-storage"])
    assert t.schema.field("n").type == pa.int64()  # a bigint, as Athena's sum() gives
    assert t.to_pylist() == [{"price_kind": "s3-storage", "n": 5}]
    assert engine.rows(sql, ["s3-storage"]) == [{"price_kind": "s3-storage", "n": 5}]
    assert engine.table("SELECT * FROM prices", limit=3).num_rows == 3
    assert [s.sql for s in engine.stats] == [sql, sql, "SELECT * FROM prices"]
    assert all(s.engine == "duckdb" and s.bytes_scanned is None for s in engine.stats)


def test_a_bad_query_is_a_query_error_naming_the_reason(lake_settings):
    with pytest.raises(QueryError, match="no_such_table"):
        open_engine(lake_settings).table("SELECT * FROM no_such_table")


def test_a_duckdb_connection_is_accepted_as_an_engine(lake_settings):
    con = connect(lake_settings)
    engine = as_engine(con)
    assert isinstance(engine, DuckDBEngine) and engine.con is con
    assert as_engine(engine) is engine


def test_athena_text_binds_parameters_in_the_order_they_are_written():
    sql = "SELECT * FROM costs WHERE (month = ? OR project = ?) AND attempt > ? AND note = '?'"
    assert to_trino(sql, ["2026-10", "o'brien", 2]) == (
        "SELECT * FROM costs WHERE (month = '2026-10' OR project = 'o''brien') AND attempt > 2 "
        "AND note = '?'")
    with pytest.raises(QueryError, match="2 parameter"):
        to_trino("SELECT ? + ?", [1])


def test_query_lines_show_bytes_and_price_only_where_they_are_charged():
    athena = QueryStats("athena", "SELECT 1", 1.234, 3 * 1024**3, "q-1")
    duck = QueryStats("duckdb", "SELECT 1", 0.5)
    assert describe_query(athena) == "athena: 1.23 s, 3.0 GB scanned, $0.014648 [q-1]"
    assert describe_query(duck) == "duckdb: 0.50 s"
    assert describe_queries([duck, duck]) == "2 duckdb queries, 1.00 s"
    assert describe_queries([athena]).startswith(
        "1 athena query, 1.23 s, 3.0 GB scanned, $0.014648")


def test_lake_query_prints_the_result_and_with_verbose_the_query_log(priced):
    out = CliRunner().invoke(main, ["lake", "query", "--verbose",
                                    "SELECT price_kind, count(*) AS n FROM prices GROUP BY 1 "
                                    "ORDER BY 1"], env={"SEQLEDGER_LAKE": priced.lake_uri})
    assert out.exit_code == 0, out.output
    assert "s3-storage        5" in out.output
    assert "total: 1 duckdb query" in out.output
    bad = CliRunner().invoke(main, ["lake", "query", "SELEC 1"],
                             env={"SEQLEDGER_LAKE": priced.lake_uri})
    assert bad.exit_code == 1 and "query failed" in bad.output and "Traceback" not in bad.output
