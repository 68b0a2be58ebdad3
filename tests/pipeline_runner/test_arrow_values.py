"""Arrow columns as Python values: the same instants as ``to_pylist``, UTC, faster path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from pipeline_runner.arrow_values import rows, values

TS = pa.timestamp("us", tz="UTC")


def test_timestamps_are_the_instants_to_pylist_gives_in_utc():
    at = datetime(2026, 3, 2, 9, 0, 1, 3, tzinfo=UTC)
    column = pa.chunked_array([pa.array([at, None], TS), pa.array([at + timedelta(days=40)], TS)])
    got = values(column)
    assert got == [at, None, datetime(2026, 4, 11, 9, 0, 1, 3, tzinfo=UTC)]
    assert got == column.to_pylist()
    assert got[0].tzinfo is UTC and got[0].microsecond == 3


def test_the_edges_of_python_dates_and_other_types_go_through_to_pylist():
    first, last = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert values(pa.array([first, last], TS)) == [first, last]
    # a nanosecond column or a naive one is not this module's shape: left to Arrow
    naive = pa.array([datetime(2026, 1, 1)], pa.timestamp("us"))
    assert values(naive) == [datetime(2026, 1, 1)]
    assert values(pa.array(["a", None])) == ["a", None]
    assert values(pa.array([], TS)) == []


def test_rows_are_the_tables_rows():
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    table = pa.table({"job_id": ["j1", "j2"], "status_at": pa.array([at, None], TS),
                      "attempt": [1, 2]})
    assert rows(table) == table.to_pylist() == [
        {"job_id": "j1", "status_at": at, "attempt": 1},
        {"job_id": "j2", "status_at": None, "attempt": 2}]
