"""The Failures and Spot page, and the Cost page's cost per sample, assumed prices and savings,
answer from their rollups as they did from the facts.

The property: on random histories around a month edge (runs, attempts with instance types and
tags, decisions, compute and licence costs, billing lines naming some instances' zones; written
in any order, some twice, with rollups refreshed for any months at any point), each query of
``analytics.failures`` and the Cost page's per-sample, assumed-price and savings queries equal
the same question asked of the facts the way the pages asked it before the rollups
(``tests/analytics/pages_from_facts.py``), for random filters (whole months too): stale months
(computed by the rollups' views) and current ones (the stored rows alone).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from analytics import cost_trends, failures, rollups
from analytics.engine import connect
from analytics.filters import Filters
from tests.analytics import pages_from_facts as facts
from tests.analytics.histories import played
from tests.analytics.test_rollups import EDGE, MONTHS, PROPERTY, _close, runs_of

ZONES = ("us-east-1a", "us-east-1b", "")
OURS = ("rollup_attempt_ends_daily", "rollup_retried_runs_daily", "rollup_attempt_costs_daily",
        "rollup_sample_costs_monthly", "rollup_cost_prices_monthly", "rollup_savings_monthly")
WHOLE_MONTHS = (Filters(start=date(2026, 1, 1), end=date(2026, 1, 31)),
                Filters(start=date(2026, 2, 1), end=date(2026, 2, 28), project=("a",)))


@st.composite
def tagged_run(draw, run: int) -> dict[str, list[dict]]:
    """A run of ``test_rollups`` with the other tags, instances, licence costs and billing."""
    rows = draw(runs_of(run))
    rows["billed_costs"] = []
    tags = {
        "cost_centre": draw(st.sampled_from(["cc-1", None])),
        "workflow": draw(st.sampled_from(["germline", "somatic"])),
        "pipeline_release": draw(st.sampled_from(["r1", "r2"])),
    }
    for name in ("runs", "job_attempts", "costs"):
        for r in rows[name]:
            r.update(tags)
    types = {}
    for r in rows["job_attempts"]:
        if r["job_id"] not in types:
            types[r["job_id"]] = draw(st.sampled_from(["f1.2xlarge", "f2.6xlarge"]))
        r["instance_type"] = types[r["job_id"]]
        r["instance_id"] = f"i-{r['job_id']}"
    for r in list(rows["costs"]):
        rows["costs"].append({**r, "component": "licence:dragen",
                              "cost_usd": draw(st.none() | st.floats(0, 9, allow_nan=False))})
        if draw(st.booleans()):
            start = r["usage_start_at"] + timedelta(hours=draw(st.integers(-40, 40)))
            rows["billed_costs"].append({
                "line_item_id": f"li-{r['job_id']}", "time_interval": "t",
                "usage_start_at": start, "unblended_cost_usd": 1.0, "export_format": "cur2",
                "resource_id": f"i-{r['job_id']}",
                "availability_zone": draw(st.sampled_from(ZONES)),
            })
    return rows


@st.composite
def histories(draw) -> list[tuple]:
    runs = [draw(tagged_run(i)) for i in range(draw(st.integers(1, 6)))]
    steps = []
    for run in runs:
        for name, rows in run.items():
            if rows:
                steps.append(("write", name, rows))
                if draw(st.booleans()):
                    steps.append(("write", name, rows))
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 3)))]
    return draw(st.permutations(steps))


@st.composite
def filters(draw) -> Filters:
    first = EDGE.date() - timedelta(days=3)
    start = draw(st.none() | st.integers(0, 4).map(lambda d: first + timedelta(days=d)))
    end = draw(st.none() | st.integers(3, 8).map(lambda d: first + timedelta(days=d)))
    if start and end and start > end:
        start, end = end, start
    pick = st.lists(st.sampled_from(["a", "b", None]), max_size=2, unique=True)
    return Filters(
        start=start, end=end, project=tuple(draw(pick)),
        cost_centre=tuple(draw(st.lists(st.sampled_from(["cc-1", None]), max_size=1))),
        workflow=tuple(draw(st.lists(st.sampled_from(["germline", "somatic"]), max_size=1))),
        release=tuple(draw(st.lists(st.sampled_from(["r1", "r2"]), max_size=1))),
    )


def answers(module, con, f: Filters) -> dict[str, list[tuple]]:
    def rows(tbl):
        return [tuple(r.values()) for r in tbl.to_pylist()]

    # The page draws failures over the lake's days when the range is open: give it closed.
    days = Filters(start=f.start or date(2026, 1, 28), end=f.end or date(2026, 2, 4),
                   project=f.project, cost_centre=f.cost_centre, workflow=f.workflow,
                   release=f.release)
    return {
        "failures_by_kind_day": rows(module.failures_by_kind(con, days, "day")),
        "failures_by_kind_month": rows(module.failures_by_kind(con, days, "month")),
        "reclaims": rows(module.reclaims(con, f)),
        "retry_outcomes": rows(module.retry_outcomes(con, f)),
        "retry_cost": rows(module.retry_cost(con, f)),
        **{name: rows(getattr(cost_trends if module is failures else facts, name)(con, f))
           for name in ("per_sample", "assumed_prices", "savings")},
    }


@PROPERTY
@given(history=histories(), asked=st.lists(filters(), min_size=1, max_size=3))
def test_the_failures_page_answers_from_rollups_as_from_the_facts(history, asked):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        for stage in ("as written", "refreshed"):
            con = connect(lake, store)
            for f in [Filters(), *WHOLE_MONTHS, *asked]:
                _close(answers(failures, con, f), answers(facts, con, f))
            if stage == "as written":
                rollups.refresh(con, store)
                # Current after a refresh, a month with nothing to count included.
                stale = rollups.stale_months(connect(lake, store), store)
                assert not set(stale) & set(OURS), stale


def test_savings_of_a_month_see_the_reclaim_decided_in_the_month_after(tmp_path):
    """A Spot attempt that started on 31 January and was reclaimed on 1 February: January's
    stored savings net of retries count it as reclaimed, as the facts do. Found by the property
    above: the stored January read only January's decisions, and a decision written later did
    not make it stale."""
    job = {"run_id": "run-0", "sample_id": "S0", "project": "a", "job_id": "job-0-1",
           "attempt": 1}
    started = EDGE - timedelta(hours=2)
    cost = {**job, "capacity": "spot", "usage_start_at": started, "price_status": "list",
            "instance_type": "f1.2xlarge"}
    lake, store = played(str(tmp_path), [
        ("write", "costs", [{**cost, "component": "compute", "cost_usd": 4.0, "quantity": 2.0},
                            {**cost, "component": "licence:dragen", "cost_usd": None}]),
        ("refresh", None, None),
        ("write", "decisions", [{**job, "decided_at": EDGE + timedelta(hours=1),
                                 "action": "retry", "failure_kind": "spot_reclaim"}]),
    ])
    assert rollups.stale_months(connect(lake, store), store)["rollup_savings_monthly"] == [
        "2026-01", "2026-02"]
    rollups.refresh(connect(lake, store), store)
    con = connect(lake, store)
    january = Filters(start=date(2026, 1, 1), end=date(2026, 1, 31))
    stored, computed = (
        [r for r in module.savings(con, january).to_pylist()
         if r["scenario"] == "spot vs on-demand, net of retries (estimated)"]
        for module in (cost_trends, facts))
    # No On-Demand price in this lake: both of the reclaimed attempt's lines (its compute and its
    # licence, spent again by the retry) enter net of retries unpriced; not reclaimed, only the
    # compute would (1).
    assert computed[0]["unpriced_rows"] == 2
    assert stored == computed
