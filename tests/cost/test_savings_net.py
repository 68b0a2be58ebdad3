"""Spot savings net of what reclaims cost: the reclaimed attempt's licence and scratch are spent
again by the retry, and On-Demand would have run the analysis once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.cost import savings
from analytics.engine import connect
from lake.store import LakeStore
from pipeline_runner.cost import AttemptUsage, estimate_attempt_cost
from pipeline_runner.prices import PriceBook

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # a Wednesday: one Spot price all day
TAGS = {"project": "p", "sample_id": "s", "run_id": "r", "workflow": "w",
        "pipeline_release": "dragen-4.2.4", "requested_by": "u", "cost_centre": "c"}


def test_net_savings_charge_the_reclaimed_attempt_and_count_one_analysis(lake_settings):
    book = PriceBook.load_default()
    store = LakeStore(lake_settings)
    store.write("prices", book.rows())

    def attempt(n: int, start: datetime, hours: float, finished: bool) -> list[dict]:
        return estimate_attempt_cost(AttemptUsage(
            job_id=f"job-{n}", attempt=n, tags=TAGS, capacity="spot", instance_type="f1.2xlarge",
            started_at=start, stopped_at=start + timedelta(hours=hours),
            input_bases=100_000_000_000, finished=finished), book)

    reclaimed = attempt(1, T0, 1.0, finished=False)
    done = attempt(2, T0 + timedelta(hours=2), 2.0, finished=True)
    store.write("costs", reclaimed + done)
    store.write("decisions", [{**TAGS, "job_id": "job-1", "attempt": 1, "decided_at": T0,
                               "failure_kind": "spot_reclaim", "action": "retry",
                               "next_capacity": "spot"}])
    rows = {r["scenario"]: r for r in savings(connect(lake_settings))}
    od = book.on_demand("f1.2xlarge", T0).usd
    spot_compute = sum(r["cost_usd"] for r in reclaimed + done if r["component"] == "compute")
    licence_again = sum(r["cost_usd"] for r in reclaimed if r["component"] != "compute")
    gross, net = rows["spot vs on-demand, gross (estimated)"], rows[
        "spot vs on-demand, net of retries (estimated)"]
    assert gross["actual_usd"] == pytest.approx(spot_compute)
    assert gross["baseline_usd"] == pytest.approx(3.0 * od)  # every Spot hour at On-Demand
    assert net["actual_usd"] == pytest.approx(spot_compute + licence_again)
    assert net["baseline_usd"] == pytest.approx(2.0 * od)  # On-Demand runs the analysis once
    assert licence_again == pytest.approx(100 * 0.10)  # 100 Gbases at the assumed rate
    assert net["saving_usd"] < gross["saving_usd"]


def test_without_an_on_demand_price_net_savings_are_unpriced_not_negative(lake_settings):
    """With no On-Demand price for the instance type there is no baseline: the reclaimed attempt's
    licence must not enter the sums alone (it showed a $0 baseline and a negative saving)."""
    book = PriceBook.load_default()
    store = LakeStore(lake_settings)
    store.write("prices", [r for r in book.rows() if r["price_kind"] != "ec2-on-demand"])
    reclaimed = estimate_attempt_cost(AttemptUsage(
        job_id="job-1", attempt=1, tags=TAGS, capacity="spot", instance_type="f1.2xlarge",
        started_at=T0, stopped_at=T0 + timedelta(hours=1), input_bases=100_000_000_000,
        finished=False), book)
    store.write("costs", reclaimed)
    store.write("decisions", [{**TAGS, "job_id": "job-1", "attempt": 1, "decided_at": T0,
                               "failure_kind": "spot_reclaim", "action": "retry",
                               "next_capacity": "spot"}])
    net = {r["scenario"]: r for r in savings(connect(lake_settings))}[
        "spot vs on-demand, net of retries (estimated)"]
    assert (net["actual_usd"], net["baseline_usd"], net["saving_usd"]) == (None, None, None)
    assert net["unpriced_rows"] == net["line_count"] == len(reclaimed)
