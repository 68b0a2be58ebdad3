"""Filters as SQL: each predicate narrows the rows it names, unknown columns are reported."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from analytics.filters import Columns, Filters, from_mapping, unapplied, where

ROWS = """
SELECT * FROM (VALUES
    (TIMESTAMP '2026-10-31 23:59:59', '2026-10', 'aou', 'cc1'),
    (TIMESTAMP '2026-11-01 00:00:00', '2026-11', 'aou', NULL),
    (TIMESTAMP '2026-11-30 12:00:00', '2026-11', 'pgx', 'cc2'),
    (TIMESTAMP '2026-12-01 00:00:00', '2026-12', NULL, 'cc2')) t(ts, month, project, cc)
"""
COLS = Columns(time="ts", month="month", project="project", cost_centre="cc")


def _projects(f: Filters) -> list:
    sql, params = where(f, COLS, "WHERE")
    rows = duckdb.execute(f"SELECT project FROM ({ROWS}) {sql} ORDER BY ts", params).fetchall()
    return [r[0] for r in rows]


def test_the_date_range_includes_both_whole_days_and_prunes_months():
    f = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert f.months() == ["2026-11"]
    assert _projects(f) == ["aou", "pgx"]
    assert where(f, COLS)[1][-1] == "2026-11"  # the partition column is filtered too


def test_tags_select_values_and_untagged_rows():
    assert _projects(Filters(project=("pgx",))) == ["pgx"]
    assert _projects(Filters(project=("pgx", None))) == ["pgx", None]
    assert _projects(Filters(cost_centre=(None,))) == ["aou"]
    assert _projects(Filters()) == ["aou", "aou", "pgx", None]
    assert where(Filters(), COLS) == ("", [])


def test_a_filter_the_query_cannot_answer_is_reported():
    f = Filters(start=date(2026, 11, 1), workflow=("germline",))
    assert unapplied(f, COLS) == ["workflow"]
    assert unapplied(f, Columns(workflow="w")) == ["date"]


def test_query_parameters_become_filters_and_bad_ones_are_refused():
    f = from_mapping({"start": "2026-11-01", "end": "", "project": ["pgx", "(untagged)"]})
    assert f == Filters(start=date(2026, 11, 1), project=("pgx", None))
    with pytest.raises(ValueError, match="starts"):
        from_mapping({"start": "2026-12-01", "end": "2026-11-01"})
    with pytest.raises(ValueError):
        from_mapping({"start": "yesterday"})
