"""The overview queries over a hand-checkable lake, and over an empty one."""

from __future__ import annotations

import pytest

from analytics import queries
from analytics.engine import connect
from tests.analytics.overview_lake import EXPECTED, write_overview_lake


@pytest.fixture
def con(lake_settings):
    write_overview_lake(lake_settings)
    return connect(lake_settings)


@pytest.fixture
def empty(lake_settings):
    return connect(lake_settings)


def _rows(tbl):
    return [tuple(r.values()) for r in tbl.to_pylist()]


def test_overview_figures(con):
    o = queries.overview(con)
    got = {k: getattr(o, k) for k in EXPECTED}
    assert got == pytest.approx(EXPECTED)
    assert o.qc_pass_rate == 0.5
    assert not o.is_empty


def test_throughput_by_day_and_month(con):
    assert _rows(queries.throughput(con, "day")) == [
        ("2026-10-31", "SUCCEEDED", 1),
        ("2026-11-01", "FAILED", 1), ("2026-11-01", "SUCCEEDED", 1),
        ("2026-11-02", "FAILED", 1),
    ]
    assert _rows(queries.throughput(con, "month")) == [
        ("2026-10", "SUCCEEDED", 1), ("2026-11", "FAILED", 2), ("2026-11", "SUCCEEDED", 1)]
    with pytest.raises(ValueError, match="grain must be"):
        queries.throughput(con, "week")


def test_statuses_failures_and_attempts(con):
    assert _rows(queries.runs_by_status(con)) == [("FAILED", 2), ("SUCCEEDED", 2), ("RUNNING", 1)]
    assert _rows(queries.failures_by_reason(con)) == [
        ("application_error: exit 1", 1), ("unknown", 1)]
    assert _rows(queries.attempt_failures(con)) == [("spot_reclaim", 3), ("application_error", 1)]
    assert _rows(queries.attempts_by_capacity(con)) == [("spot", 6, 3), ("on-demand", 1, 0)]
    recent = queries.recent_failures(con).to_pylist()
    assert [(r["run_id"], r["reason"], r["attempts"], r["spot_reclaims"]) for r in recent] == [
        ("run-5", None, 2, 2), ("run-3", "application_error: exit 1", 1, 0)]
    assert [r["run_id"] for r in queries.recent_failures(con, limit=1).to_pylist()] == ["run-5"]


def test_cost_by_project(con):
    rows = _rows(queries.cost_by_project(con))
    assert [(p, round(c, 2), n) for p, c, n in rows] == [
        ("aou-wgs", 10.75, 0), ("pgx", 0.75, 1), ("(untagged)", 0.10, 0)]


def test_qc_verdicts_use_the_latest_evaluation_of_one_suite(con):
    assert _rows(queries.qc_verdict_counts(con)) == [("pass", 1), ("review", 1)]
    assert _rows(queries.qc_verdict_counts(con, suite="release_validation")) == [("fail", 1)]
    assert queries.qc_pass_rate(con) == 0.5
    assert queries.qc_pass_rate(con, suite="release_validation") == 0.0


def test_every_query_works_on_an_empty_lake(empty):
    o = queries.overview(empty)
    assert o.is_empty and o.qc_pass_rate is None
    assert (o.samples, o.runs, o.attempts, o.spot_reclaims, o.total_cost_usd) == (0, 0, 0, 0, 0.0)
    tables = {
        "throughput": (queries.throughput(empty, "month"), ["period", "status", "runs"]),
        "runs_by_status": (queries.runs_by_status(empty), ["status", "runs"]),
        "failures_by_reason": (queries.failures_by_reason(empty), ["reason", "runs"]),
        "attempt_failures": (queries.attempt_failures(empty), ["failure_kind", "attempts"]),
        "attempts_by_capacity": (queries.attempts_by_capacity(empty),
                                 ["capacity", "attempts", "spot_reclaims"]),
        "recent_failures": (queries.recent_failures(empty),
                            ["run_id", "sample_id", "project", "failed_at", "reason", "attempts",
                             "spot_reclaims"]),
        "cost_by_project": (queries.cost_by_project(empty),
                            ["project", "cost_usd", "unpriced_rows"]),
        "qc_verdict_counts": (queries.qc_verdict_counts(empty), ["verdict", "runs"]),
    }
    for name, (tbl, columns) in tables.items():
        assert (name, tbl.num_rows, tbl.column_names) == (name, 0, columns)
    assert queries.qc_pass_rate(empty) is None


def test_repeated_writes_change_no_figure(lake_settings):
    write_overview_lake(lake_settings)
    write_overview_lake(lake_settings)  # the same rows again: no-op files, views deduplicate
    o = queries.overview(connect(lake_settings))
    assert (o.runs, o.attempts, o.spot_reclaims, o.total_cost_usd) == pytest.approx((5, 7, 3, 11.6))
