"""The overview queries narrowed by a date range and tags, over the hand-checkable lake.

The lake (``tests.analytics.overview_lake``) has run-1 in October 2026 and the other four runs,
every cost line and every QC verdict in November: each figure below is worked out from it.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from analytics import queries
from analytics.engine import connect
from analytics.filters import Filters
from tests.analytics.overview_lake import EXPECTED, write_overview_lake

OCTOBER = Filters(start=date(2026, 10, 1), end=date(2026, 10, 31))
NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30))


@pytest.fixture
def con(lake_settings):
    write_overview_lake(lake_settings)
    return connect(lake_settings)


def _rows(tbl):
    return [tuple(r.values()) for r in tbl.to_pylist()]


def _figures(o: queries.Overview) -> dict:
    return {f.name: getattr(o, f.name) for f in fields(o)}


def test_the_overview_of_one_month(con):
    october = queries.overview(con, filters=OCTOBER)
    november = queries.overview(con, filters=NOVEMBER)
    assert _figures(october) == pytest.approx({
        "samples": 1, "runs": 1, "runs_succeeded": 1, "runs_failed": 0, "runs_active": 0,
        "attempts": 2, "spot_reclaims": 1, "qc_gated": 0, "qc_passed": 0, "qc_review": 0,
        "qc_failed": 0, "total_cost_usd": 0.0})
    assert _figures(november) == pytest.approx({
        "samples": 4, "runs": 4, "runs_succeeded": 1, "runs_failed": 2, "runs_active": 1,
        "attempts": 5, "spot_reclaims": 2, "qc_gated": 2, "qc_passed": 1, "qc_review": 1,
        "qc_failed": 0, "total_cost_usd": 11.60})
    # the additive figures of the two months are the whole lake's
    for k in ("runs", "runs_succeeded", "runs_failed", "attempts", "spot_reclaims", "qc_gated",
              "total_cost_usd"):
        assert getattr(october, k) + getattr(november, k) == pytest.approx(EXPECTED[k])


def test_a_range_inside_a_month_filters_days_and_keeps_the_monthly_rollups_whole(con):
    second = Filters(start=date(2026, 11, 2), end=date(2026, 11, 2))
    assert _rows(queries.throughput(con, "day", second)) == [("2026-11-02", "FAILED", 1)]
    assert _rows(queries.runs_by_status(con, second)) == [("FAILED", 1), ("RUNNING", 1)]
    # costs are monthly: the month the range touches counts whole
    assert _rows(queries.cost_by_project(con, second)) == _rows(queries.cost_by_project(con))
    assert [r["run_id"] for r in queries.recent_failures(con, filters=second).to_pylist()] == [
        "run-5"]


def test_runs_attempts_costs_and_qc_by_month(con):
    assert _rows(queries.throughput(con, "month", OCTOBER)) == [("2026-10", "SUCCEEDED", 1)]
    assert _rows(queries.failures_by_reason(con, OCTOBER)) == []
    assert _rows(queries.attempt_failures(con, OCTOBER)) == [("spot_reclaim", 1)]
    assert _rows(queries.attempts_by_capacity(con, NOVEMBER)) == [
        ("spot", 4, 2), ("on-demand", 1, 0)]
    assert _rows(queries.cost_by_project(con, OCTOBER)) == []
    assert _rows(queries.qc_verdict_counts(con, filters=NOVEMBER)) == [("pass", 1), ("review", 1)]
    assert queries.qc_pass_rate(con, filters=OCTOBER) is None
    assert queries.recent_failures(con, filters=OCTOBER).num_rows == 0


def test_tags_narrow_every_source_that_has_them(con):
    pgx = Filters(project=("pgx",))
    assert _rows(queries.runs_by_status(con, pgx)) == [("FAILED", 1), ("RUNNING", 1)]
    assert _rows(queries.failures_by_reason(con, pgx)) == [("application_error: exit 1", 1)]
    assert _rows(queries.cost_by_project(con, pgx)) == [("pgx", 0.75, 1)]
    untagged = Filters(project=(None,))
    assert _rows(queries.cost_by_project(con, untagged)) == [("(untagged)", 0.10, 0)]
    assert queries.overview(con, filters=untagged).runs == 0


def test_no_filter_and_an_empty_filter_give_the_unfiltered_answers(con):
    for name, args in [("runs_by_status", ()), ("throughput", ("day",)),
                       ("failures_by_reason", ()), ("attempt_failures", ()),
                       ("attempts_by_capacity", ()), ("cost_by_project", ())]:
        fn = getattr(queries, name)
        assert _rows(fn(con, *args, Filters())) == _rows(fn(con, *args)), name
    assert _figures(queries.overview(con, filters=Filters())) == _figures(queries.overview(con))


def test_recent_failures_of_a_month_read_the_facts_of_that_month_and_either_side(con):
    """On Athena: three partitions of runs, job attempts and decisions, not every month."""
    from analytics.athena import view_definitions
    from analytics.dialect import parse_duckdb
    from analytics.scan import scan_plan

    class Sent:
        name, stats, sql = "recording", [], []

        def table(self, sql, params=(), limit=None):
            self.sql.append(parse_duckdb(sql, params).sql(dialect="duckdb"))
            return con.execute(sql, list(params)).to_arrow_table()

        def rows(self, sql, params=()):
            return self.table(sql, params).to_pylist()

        def close(self) -> None: ...

    sent = Sent()
    rows = queries.recent_failures(sent, filters=NOVEMBER).to_pylist()
    assert [(r["run_id"], r["attempts"], r["spot_reclaims"]) for r in rows] == [
        ("run-5", 2, 2), ("run-3", 1, 0)]
    scans = {s.table: s.months for s in scan_plan(sent.sql[0], view_definitions())}
    assert scans == {t: {"2026-10", "2026-11", "2026-12"}
                     for t in ("runs", "job_attempts", "decisions")}
