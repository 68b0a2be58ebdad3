"""Dict rows and Python columns into Arrow: the transposed fast path and the checks it keeps."""

from datetime import UTC, datetime

import pytest

from lake.errors import SchemaError
from lake.schemas import table
from lake.store import columns_table, to_table

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECORDED = datetime(2026, 3, 3, tzinfo=UTC)


def _run(i: int, **kw) -> dict:
    return {"run_id": f"r{i}", "sample_id": f"S{i}", "status": "DISPATCHED",
            "status_at": AT, "input_size_bytes": 10 * i, **kw}


def test_rows_in_one_key_order_and_in_mixed_orders_make_the_same_table():
    rows = [_run(i) for i in range(5)]
    mixed = [dict(reversed(r.items())) if i % 2 else r for i, r in enumerate(rows)]
    missing = [*rows[:4], {k: v for k, v in rows[4].items() if k != "input_size_bytes"}]
    same = to_table(table("runs"), rows, RECORDED)
    assert to_table(table("runs"), mixed, RECORDED).equals(same)
    assert same.column("run_id").to_pylist() == ["r0", "r1", "r2", "r3", "r4"]
    assert same.column("input_size_bytes").to_pylist() == [0, 10, 20, 30, 40]
    assert same.column("recorded_at").to_pylist() == [RECORDED] * 5
    assert to_table(table("runs"), missing, RECORDED).column(
        "input_size_bytes").to_pylist() == [0, 10, 20, 30, None]


def test_an_unknown_key_is_refused_on_either_path():
    same_order = [_run(i, colour="red") for i in range(3)]
    with pytest.raises(SchemaError, match=r"unknown column\(s\) \['colour'\]"):
        to_table(table("runs"), same_order)
    with pytest.raises(SchemaError, match=r"unknown column\(s\) \['colour'\]"):
        to_table(table("runs"), [_run(0), _run(1, colour="red")])


def test_a_naive_datetime_among_nulls_is_named_by_its_row():
    rows = [_run(i) for i in range(4)]
    rows[1]["status_at"] = None  # a null reads as no time zone too: it must not be blamed
    rows[3]["status_at"] = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(SchemaError, match=r"'status_at': row 3 has a datetime without a time"):
        to_table(table("runs"), rows)


def test_a_fraction_in_an_integer_column_is_named_by_its_row_and_whole_floats_pass():
    rows = [_run(i) for i in range(3)]
    rows[1]["input_size_bytes"] = 7.0
    assert to_table(table("runs"), rows).column("input_size_bytes").to_pylist() == [0, 7, 20]
    rows[2]["input_size_bytes"] = 7.5
    with pytest.raises(SchemaError, match=r"row 2 holds 7.5, not a whole number"):
        to_table(table("runs"), rows)


def test_columns_make_the_table_their_rows_make():
    rows = [_run(i) for i in range(3)]
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    tbl = columns_table(table("runs"), columns)
    assert tbl.column_names == ["sample_id", "run_id", "status", "status_at",
                                "input_size_bytes"]
    assert to_table(table("runs"), tbl, RECORDED).equals(to_table(table("runs"), rows, RECORDED))
    with pytest.raises(SchemaError, match=r"unknown column\(s\) \['colour'\]"):
        columns_table(table("runs"), {**columns, "colour": ["red"] * 3})
    with pytest.raises(SchemaError, match="row 1 has a datetime without a time zone"):
        columns_table(table("runs"), {**columns, "status_at": [AT, datetime(2026, 1, 1), AT]})
