"""Rollups answer as the facts do: whatever was written, refreshed or not, before or after.

The property: on random histories of runs, attempts, decisions and costs around a month edge
(redelivered, restated, written in any order), with rollups refreshed for any months at any point
in between, every dashboard query that reads rollups equals the same question asked of the fact
views (``run_outcomes``, ``attempt_outcomes``, ``costs``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import queries, rollups
from analytics.engine import connect
from lake.store import LakeStore
from tests.analytics.histories import played
from tests.analytics.overview_lake import write_overview_lake

PROPERTY = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EDGE = datetime(2026, 2, 1, tzinfo=UTC)
MONTHS = ("2026-01", "2026-02")
RECLAIM = "Host EC2 (instance i-0abc) terminated."

# The questions as they were asked of the facts before the rollups existed.
FROM_FACTS = {
    "runs_by_status": """SELECT status, count(*) AS runs FROM run_outcomes
        GROUP BY status ORDER BY runs DESC, status""",
    "throughput_day": """SELECT finished_day AS period, status, count(*) AS runs FROM run_outcomes
        WHERE finished_day IS NOT NULL GROUP BY finished_day, status ORDER BY period, status""",
    "throughput_month": """SELECT finished_month AS period, status, count(*) AS runs
        FROM run_outcomes WHERE finished_month IS NOT NULL
        GROUP BY finished_month, status ORDER BY period, status""",
    "failures_by_reason": """SELECT coalesce(reason, 'unknown') AS reason, count(*) AS runs
        FROM run_outcomes WHERE status = 'FAILED'
        GROUP BY coalesce(reason, 'unknown') ORDER BY runs DESC, reason""",
    "attempt_failures": """SELECT coalesce(failure_kind, CASE WHEN spot_reclaim
        THEN 'spot_reclaim' ELSE 'unclassified' END) AS failure_kind, count(*) AS attempts
        FROM attempt_outcomes WHERE status = 'FAILED' GROUP BY 1 ORDER BY attempts DESC, 1""",
    "attempts_by_capacity": """SELECT coalesce(capacity, 'unknown') AS capacity,
        count(*) AS attempts, count(CASE WHEN spot_reclaim THEN 1 END) AS spot_reclaims
        FROM attempt_outcomes GROUP BY 1 ORDER BY attempts DESC, capacity""",
    "cost_by_project": """SELECT coalesce(project, '(untagged)') AS project,
        coalesce(sum(cost_usd), 0) AS cost_usd,
        count(CASE WHEN cost_usd IS NULL THEN 1 END) AS unpriced_rows
        FROM costs GROUP BY 1 ORDER BY cost_usd DESC, project""",
    "overview": """SELECT (SELECT count(DISTINCT sample_id) FROM run_outcomes),
        (SELECT count(*) FROM run_outcomes),
        (SELECT count(CASE WHEN status = 'SUCCEEDED' THEN 1 END) FROM run_outcomes),
        (SELECT count(CASE WHEN status = 'FAILED' THEN 1 END) FROM run_outcomes),
        (SELECT count(*) FROM attempt_outcomes),
        (SELECT count(CASE WHEN spot_reclaim THEN 1 END) FROM attempt_outcomes),
        (SELECT coalesce(sum(cost_usd), 0) FROM costs)""",
}


def from_rollups(con) -> dict[str, list[tuple]]:
    def rows(tbl):
        return [tuple(r.values()) for r in tbl.to_pylist()]

    o = queries.overview(con)
    return {
        "runs_by_status": rows(queries.runs_by_status(con)),
        "throughput_day": rows(queries.throughput(con, "day")),
        "throughput_month": rows(queries.throughput(con, "month")),
        "failures_by_reason": rows(queries.failures_by_reason(con)),
        "attempt_failures": rows(queries.attempt_failures(con)),
        "attempts_by_capacity": rows(queries.attempts_by_capacity(con)),
        "cost_by_project": rows(queries.cost_by_project(con)),
        "overview": [
            (
                o.samples,
                o.runs,
                o.runs_succeeded,
                o.runs_failed,
                o.attempts,
                o.spot_reclaims,
                o.total_cost_usd,
            )
        ],
    }


def from_facts(con) -> dict[str, list[tuple]]:
    return {name: con.execute(sql).fetchall() for name, sql in FROM_FACTS.items()}


def _close(a: dict, b: dict) -> None:
    """Equal, with sums of money compared to the cent's millionth (addition order differs)."""
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for ra, rb in zip(a[name], b[name], strict=True):
            assert [pytest.approx(x, abs=1e-9) if isinstance(x, float) else x for x in ra] == list(
                rb
            ), name


def _at(draw) -> datetime:
    return EDGE + timedelta(hours=draw(st.integers(-30, 30)))


@st.composite
def runs_of(draw, run: int) -> dict[str, list[dict]]:
    """One run around the month edge: its statuses, its attempts' states, decisions and costs."""
    run_id, sample = f"run-{run}", f"S{draw(st.integers(0, 3))}"
    tags = {"run_id": run_id, "sample_id": sample, "project": draw(st.sampled_from(["a", "b"]))}
    start = _at(draw)
    rows: dict[str, list[dict]] = {"runs": [], "job_attempts": [], "decisions": [], "costs": []}
    rows["runs"].append({**tags, "status": "DISPATCHED", "status_at": start})
    final = draw(st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED"]))
    end = start + timedelta(hours=draw(st.integers(1, 20)))
    rows["runs"].append(
        {
            **tags,
            "status": final,
            "status_at": end,
            "reason": draw(st.sampled_from([None, "app"])) if final == "FAILED" else None,
        }
    )
    for attempt in range(1, draw(st.integers(1, 3)) + 1):
        job = f"job-{run}-{attempt}"
        at = start + timedelta(minutes=10 * attempt)
        status = draw(st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED"]))
        capacity = draw(st.sampled_from(["spot", "on-demand"]))
        common = {**tags, "job_id": job, "attempt": attempt, "capacity": capacity}
        if draw(st.booleans()):  # an attempt with no run row: jobs seen before their run
            common["run_id"] = f"orphan-{run}"
        rows["job_attempts"].append({**common, "status": "SUBMITTED", "status_at": at})
        rows["job_attempts"].append(
            {
                **common,
                "status": status,
                "status_at": at + timedelta(hours=draw(st.integers(0, 9))),
                "status_reason": draw(st.sampled_from([None, RECLAIM]))
                if status == "FAILED"
                else None,
            }
        )
        if status != "RUNNING" and draw(st.booleans()):
            rows["decisions"].append(
                {
                    **{k: v for k, v in common.items() if k != "capacity"},
                    "decided_at": at + timedelta(hours=10),
                    "action": "retry",
                    "failure_kind": draw(st.sampled_from(["none", "spot_reclaim", None])),
                }
            )
        rows["costs"].append(
            {
                **common,
                "component": "compute",
                "usage_start_at": at,
                "cost_usd": draw(st.none() | st.floats(0, 50, allow_nan=False)),
                "price_status": draw(st.sampled_from(["list", "approximate"])),
            }
        )
    return rows


@st.composite
def histories(draw) -> list[tuple]:
    """Writes (some repeated, some restated later) and rollup refreshes, in any order."""
    runs = [draw(runs_of(i)) for i in range(draw(st.integers(1, 5)))]
    steps = []
    for run in runs:
        for name, rows in run.items():
            if rows:
                steps.append(("write", name, rows))
                if draw(st.booleans()):
                    steps.append(("write", name, rows))  # a redelivery
    steps += [
        ("refresh", draw(st.sampled_from([None, *MONTHS])), None)
        for _ in range(draw(st.integers(0, 3)))
    ]
    return draw(st.permutations(steps))


@PROPERTY
@given(history=histories())
def test_rollups_answer_as_the_facts_do(history):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        con = connect(lake, store)
        _close(from_rollups(con), from_facts(con))
        rollups.refresh(con, store)  # every month current: the stored rows alone
        con = connect(lake, store)
        _close(from_rollups(con), from_facts(con))


def test_a_refresh_is_idempotent_and_a_new_fact_makes_its_month_stale(lake_settings):
    write_overview_lake(lake_settings)
    store = LakeStore(lake_settings)
    con = connect(lake_settings, store)
    rollups.refresh(con, store)
    files = {n: store.files(n) for n in rollups.BY_TABLE}
    rollups.refresh(connect(lake_settings, store), store)
    assert {n: store.files(n) for n in rollups.BY_TABLE} == files  # nothing rewritten

    con = connect(lake_settings, store)
    assert rollups.stale_months(con, store) == {}
    late = datetime(2026, 11, 2, 12, tzinfo=UTC)
    store.write(
        "costs",
        [
            {
                "job_id": "late",
                "attempt": 1,
                "component": "compute",
                "usage_start_at": late,
                "cost_usd": 2.0,
                "project": "pgx",
            }
        ],
    )
    con = connect(lake_settings, store)
    # The attempts' cost rollup reads a month's attempts either side: October's changes too.
    assert rollups.stale_months(con, store) == {
        "rollup_costs_monthly": ["2026-11"],
        "rollup_attempt_costs_daily": ["2026-10", "2026-11"],
        "rollup_sample_costs_monthly": ["2026-11"],
        "rollup_cost_prices_monthly": ["2026-11"],
        "rollup_costs_daily": ["2026-11"],
        "rollup_savings_monthly": ["2026-11"],
        # the Releases page's runs sum their costs over their month and either side
        "rollup_release_runs_monthly": ["2026-10", "2026-11"],
    }
    # Still the facts' answer: the stale month is computed from them.
    assert (
        dict(
            (p, round(c, 2))
            for p, c, _ in [tuple(r.values()) for r in queries.cost_by_project(con).to_pylist()]
        )["pgx"]
        == 2.75
    )
