"""The DuckDB views over the lake (analytics.engine.connect): raw views keep every row written,
table views keep the latest row per natural key, an empty lake still has every view with its
columns, and a lake on S3 answers exactly as a local one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from analytics.engine import connect
from lake.schemas import TABLES
from lake.store import LakeStore

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def attempt(job_id: str, status: str, minutes: int, **extra) -> dict:
    return {
        "job_id": job_id,
        "attempt": 1,
        "status": status,
        "project": "P001",
        "status_at": T0 + timedelta(minutes=minutes),
        **extra,
    }


def rows_of(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


# -- deduplication -----------------------------------------------------------------------------
def test_raw_view_keeps_every_row_and_table_view_the_latest_by_status_at(lake_settings):
    store = LakeStore(lake_settings)
    store.write(
        "job_attempts",
        [attempt("j1", "RUNNING", 0), attempt("j2", "FAILED", 5, status_reason="first report")],
    )
    # Redelivered j1 and a later report of j2's FAILED; j3 makes the key set (the file) new.
    store.write(
        "job_attempts",
        [
            attempt("j1", "RUNNING", 0),
            attempt("j3", "RUNNING", 1),
            attempt("j2", "FAILED", 9, status_reason="Host EC2 terminated."),
        ],
    )
    con = connect(lake_settings)

    assert con.execute("SELECT count(*) FROM raw_job_attempts").fetchone() == (5,)
    assert rows_of(con, "SELECT job_id, status, status_at, status_reason FROM job_attempts") == [
        ("j1", "RUNNING", T0, None),
        ("j2", "FAILED", T0 + timedelta(minutes=9), "Host EC2 terminated."),
        ("j3", "RUNNING", T0 + timedelta(minutes=1), None),
    ]
    assert rows_of(con, "SELECT month, count(*) FROM job_attempts GROUP BY month") == [
        ("2026-03", 3)
    ]


def test_table_view_breaks_order_by_ties_with_recorded_at(lake_settings):
    store = LakeStore(lake_settings)
    later = datetime(2026, 3, 11, tzinfo=UTC)
    store.write(
        "job_attempts", [attempt("j1", "FAILED", 5, status_reason="late")], recorded_at=later
    )
    store.write(
        "job_attempts",
        [attempt("j1", "FAILED", 5, status_reason="early"), attempt("j2", "RUNNING", 1)],
        recorded_at=later - timedelta(hours=1),
    )
    con = connect(lake_settings)
    assert rows_of(con, "SELECT job_id, status_reason, recorded_at FROM job_attempts") == [
        ("j1", "late", later),
        ("j2", None, later - timedelta(hours=1)),
    ]


def test_latest_recorded_wins_whatever_the_write_order_for_recorded_at_tables(lake_settings):
    # costs are ordered by recorded_at: a re-estimate replaces the earlier estimate.
    store = LakeStore(lake_settings)
    cost = {
        "job_id": "j1",
        "attempt": 1,
        "component": "compute",
        "usage_start_at": T0,
        "project": "P001",
    }
    new, old = T0 + timedelta(days=2), T0 + timedelta(days=1)
    store.write(
        "costs", [{**cost, "cost_usd": 4.25, "recorded_at": new}]
    )  # the newer arrives first
    store.write(
        "costs",
        [
            {**cost, "cost_usd": 3.75, "recorded_at": old},
            {**cost, "component": "licence", "cost_usd": 1.0, "recorded_at": old},
        ],
    )
    con = connect(lake_settings)
    assert con.execute("SELECT count(*) FROM raw_costs").fetchone() == (3,)
    assert rows_of(con, "SELECT component, cost_usd FROM costs") == [
        ("compute", 4.25),
        ("licence", 1.0),
    ]


def test_table_view_agrees_with_store_read(lake_settings):
    store = LakeStore(lake_settings)
    batches = [
        [
            attempt(f"j{i}", s, i + k)
            for i in range(6)
            for k, s in enumerate(("SUBMITTED", "RUNNING"))
        ],
        [attempt(f"j{i}", "RUNNING", i + 1) for i in range(3, 9)],  # overlaps: 3 redelivered
        [
            attempt(f"j{i}", "SUCCEEDED", 60 * 24 * 25 + i, exit_code=0) for i in range(0, 9, 2)
        ],  # April
    ]
    for batch in batches:
        store.write("job_attempts", batch)
    con = connect(lake_settings)
    cols = "job_id, attempt, status, status_at, exit_code, month"
    from_view = rows_of(con, f"SELECT {cols} FROM job_attempts")
    from_store = sorted(
        (
            (
                r["job_id"],
                r["attempt"],
                r["status"],
                r["status_at"],
                r["exit_code"],
                r["status_at"].strftime("%Y-%m"),
            )
            for r in store.read("job_attempts").to_pylist()
        ),
        key=repr,
    )
    assert from_view == from_store
    assert len(from_view) == 12 + 3 + 5
    assert {m for *_, m in from_view} == {"2026-03", "2026-04"}


# -- the empty lake ----------------------------------------------------------------------------
def _value(t: pa.DataType, name: str):
    """A valid value of an Arrow type, to write one full row of any table."""
    if pa.types.is_timestamp(t):
        return T0
    if pa.types.is_date(t):
        return date(2026, 3, 10)
    if pa.types.is_boolean(t):
        return True
    if pa.types.is_integer(t):
        return 3
    if pa.types.is_floating(t):
        return 1.5
    if pa.types.is_decimal(t):
        return Decimal("1.5")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [_value(t.value_type, name)]
    if pa.types.is_map(t):
        return [("k", _value(t.item_type, name))]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return f"{name}-1"
    raise AssertionError(f"no test value for {t} ({name}): extend _value")


def _one_full_row(name: str) -> dict:
    spec = TABLES[name]
    return {
        f.name: _value(f.type, f.name)
        for f in spec.schema
        if f.name not in ("recorded_at", "schema_version")
    }


def describe(con, view: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]


def test_empty_lake_has_every_table_as_an_empty_view_with_the_columns_of_real_files(
    lake_settings, tmp_path
):
    from lake.settings import Settings

    empty = connect(lake_settings)
    full_settings = Settings(lake_uri=str(tmp_path / "full"))
    full_store = LakeStore(full_settings)
    for name in TABLES:
        full_store.write(name, [_one_full_row(name)])
    full = connect(full_settings)

    for name, spec in TABLES.items():
        for view in (f"raw_{name}", name):
            assert empty.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,), view
            columns = describe(empty, view)
            assert [c for c, _ in columns] == [*spec.columns, "month"], view
            # Same names and types as DuckDB sees in a real file of the table.
            assert columns == describe(full, view), view
        assert full.execute(f"SELECT count(*) FROM {name}").fetchone() == (1,)


def test_empty_lake_types_are_the_lake_types(lake_settings):
    con = connect(lake_settings)
    types = dict(describe(con, "job_attempts"))
    assert types["attempt"] == "INTEGER"
    assert types["status_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["schema_version"] == "SMALLINT"
    assert types["job_id"] == "VARCHAR"
    assert types["month"] == "VARCHAR"


def test_sql_views_run_on_an_empty_lake(lake_settings):
    from analytics.engine import view_sql

    con = connect(lake_settings)
    for view in view_sql():
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,), view


# -- the same answers on S3 ----------------------------------------------------------------------
QUERIES = (
    "SELECT count(*) FROM raw_job_attempts",
    "SELECT job_id, attempt, status, status_at, status_reason, exit_code, month FROM job_attempts",
    "SELECT month, status, count(*) FROM job_attempts GROUP BY month, status",
    "SELECT job_id, attempt, status, spot_reclaim FROM attempt_outcomes",
    "SELECT component, cost_usd, recorded_at FROM costs",
    "SELECT count(*) FROM raw_runs",
)


def _fill(store: LakeStore) -> None:
    store.write("job_attempts", [attempt(f"j{i}", "RUNNING", i) for i in range(5)])
    store.write(
        "job_attempts", [attempt("j1", "RUNNING", 1), attempt("j9", "SUBMITTED", 40 * 24 * 60)]
    )
    store.write(
        "job_attempts",
        [attempt("j2", "FAILED", 30, status_reason="Host EC2 (instance i-0abc) terminated.")],
    )
    cost = {"job_id": "j1", "attempt": 1, "component": "compute", "usage_start_at": T0}
    store.write("costs", [{**cost, "cost_usd": 2.0, "recorded_at": T0 + timedelta(days=2)}])
    store.write(
        "costs",
        [
            {**cost, "cost_usd": 1.0, "recorded_at": T0 + timedelta(days=1)},
            {**cost, "component": "licence", "cost_usd": 0.5, "recorded_at": T0},
        ],
    )


@pytest.mark.integration
def test_s3_lake_answers_like_a_local_lake(lake_settings, s3_settings):
    answers = {}
    for where, settings in (("local", lake_settings), ("s3", s3_settings)):
        _fill(LakeStore(settings))
        con = connect(settings)
        answers[where] = [rows_of(con, q) for q in QUERIES]
        con.close()
    assert answers["s3"] == answers["local"]
    local = dict(zip(QUERIES, answers["local"], strict=True))
    assert local[QUERIES[0]] == [(8,)]
    assert local[QUERIES[2]] == [
        ("2026-03", "FAILED", 1),
        ("2026-03", "RUNNING", 5),
        ("2026-04", "SUBMITTED", 1),
    ]
    assert ("j2", 1, "FAILED", True) in local[QUERIES[3]]
    assert local[QUERIES[4]] == [("compute", 2.0, T0 + timedelta(days=2)), ("licence", 0.5, T0)]
