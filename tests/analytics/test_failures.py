"""Failures and Spot queries on the hand-checked lake of ``tests.dashboards.ops_lake``."""

from __future__ import annotations

from datetime import date

import pytest

from analytics import failures
from analytics.engine import open_engine
from analytics.filters import Filters
from tests.dashboards.ops_lake import write_ops_lake


@pytest.fixture
def engine(lake_settings):
    write_ops_lake(lake_settings)
    e = open_engine(lake_settings)
    yield e
    e.close()


def _nonzero(table) -> list[tuple]:
    return [(r["period"], r["failure_kind"], r["attempts"]) for r in table.to_pylist()
            if r["attempts"]]


def test_failed_attempts_by_kind_per_day_with_quiet_days_as_zeros(engine):
    f = Filters(start=date(2026, 11, 1), end=date(2026, 11, 6))
    rows = failures.failures_by_kind(engine, f).to_pylist()
    assert sorted({r["period"] for r in rows}) == [f"2026-11-0{d}" for d in range(1, 7)]
    assert {(r["period"], r["attempts"]) for r in rows if r["period"] == "2026-11-04"} == {
        ("2026-11-04", 0)}
    # B2 has no decision: Batch's "Host EC2 ... terminated" makes it a reclaim.
    assert _nonzero(failures.failures_by_kind(engine, f)) == [
        ("2026-11-02", "spot_reclaim", 1), ("2026-11-03", "spot_reclaim", 2),
        ("2026-11-05", "application_error", 2), ("2026-11-05", "infrastructure", 1)]
    assert _nonzero(failures.failures_by_kind(engine, f, "month")) == [
        ("2026-11", "application_error", 2), ("2026-11", "infrastructure", 1),
        ("2026-11", "spot_reclaim", 3)]


def test_the_rollup_and_the_facts_agree_whichever_filter_picks_them(engine):
    by_project = _nonzero(failures.failures_by_kind(engine, Filters(project=("pgx",))))
    by_workflow = _nonzero(failures.failures_by_kind(engine, Filters(workflow=("somatic",))))
    assert by_project == by_workflow == [("2026-11-05", "application_error", 2),
                                         ("2026-11-05", "infrastructure", 1)]
    both = Filters(project=("aou",), release=("r1",))  # release: from the facts
    assert _nonzero(failures.failures_by_kind(engine, both)) == _nonzero(
        failures.failures_by_kind(engine, Filters(project=("aou",)))) == [
        ("2026-11-02", "spot_reclaim", 1), ("2026-11-03", "spot_reclaim", 2)]


def test_nothing_failed_is_a_row_of_zeros_per_day_not_an_empty_chart(engine):
    f = Filters(start=date(2026, 10, 29), end=date(2026, 10, 31))
    assert [(r["period"], r["attempts"]) for r in failures.failures_by_kind(engine, f)
            .to_pylist()] == [("2026-10-29", 0), ("2026-10-30", 0), ("2026-10-31", 0)]


def test_reclaims_by_instance_type_zone_and_hour(engine):
    rows = failures.reclaims(engine, Filters()).to_pylist()
    assert sum(r["spot_attempts"] for r in rows) == 7  # On-Demand attempts are not counted
    by_type: dict[str, list[int]] = {}
    for r in rows:
        by_type.setdefault(r["instance_type"], [0, 0])
        by_type[r["instance_type"]][0] += r["spot_attempts"]
        by_type[r["instance_type"]][1] += r["reclaims"]
    assert by_type == {"f1.4xlarge": [5, 1], "f2.6xlarge": [2, 2]}
    zones = {(r["availability_zone"], r["hour"]): r["reclaims"] for r in rows if r["reclaims"]}
    assert zones == {("us-east-1a", 3): 1, ("us-east-1b", 3): 1, ("us-east-1b", 5): 1}
    assert {r["availability_zone"] for r in rows if not r["reclaims"]} == {"unknown"}


def test_retried_runs_by_where_they_ended(engine):
    rows = {r["outcome"]: (r["runs"], r["attempts"], r["retries"], r["spot_reclaims"])
            for r in failures.retry_outcomes(engine, Filters()).to_pylist()}
    assert rows == {"succeeded on Spot": (1, 2, 1, 1), "succeeded on On-Demand": (1, 3, 2, 2),
                    "given up": (1, 2, 1, 0)}
    assert [r["outcome"] for r in failures.retry_outcomes(
        engine, Filters(cost_centre=("cc-2",))).to_pylist()] == ["given up"]


def test_the_cost_of_attempts_that_did_not_finish(engine):
    cost = failures.retry_cost(engine, Filters())
    lost = {(r["failure_kind"], r["cost_kind"]): r["cost_usd"] for r in cost.to_pylist()
            if r["outcome"] == "did not finish"}
    assert lost == pytest.approx({("spot_reclaim", "compute"): 4.50,
                                  ("spot_reclaim", "licence"): 5.00,
                                  ("application_error", "compute"): 1.25,
                                  ("application_error", "licence"): 5.00,
                                  ("infrastructure", "compute"): 0.25})
    assert failures.wasted_share(cost) == pytest.approx((16.0, 44.0, 16 / 44))
    # The storage rows of run-A are the run's, not an attempt's: never in the total.
    pgx = failures.wasted_share(failures.retry_cost(engine, Filters(project=("pgx",))))
    assert pgx == pytest.approx((6.5, 6.5, 1.0))


def test_an_empty_lake_answers_with_nothing(lake_settings):
    e = open_engine(lake_settings)
    assert failures.failures_by_kind(e, Filters()).num_rows == 0
    assert failures.reclaims(e, Filters()).num_rows == 0
    assert failures.retry_outcomes(e, Filters()).num_rows == 0
    assert failures.wasted_share(failures.retry_cost(e, Filters())) == (0, 0, None)
