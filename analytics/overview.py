"""The overview's period figures, this month against last, and what needs attention now.

``figures`` reads the rollups (``runs_daily``, ``costs_monthly``, ``qc_gates_daily``) for a
``Filters``; QC verdicts are counted on the day of the latest gate; cost is booked by usage month,
so a date range counts the cost of the months it touches. ``attention`` lists runs open longer
than a threshold, samples whose mates have not all arrived and QC verdicts waiting for a person's
review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where

if TYPE_CHECKING:
    import pyarrow as pa

QC_SUITE = "sample_qc"
RUN_COLUMNS = Columns(time="day_at", project="project", workflow="workflow",
                      release="pipeline_release")
COST_COLUMNS = Columns(time="month_at", project="project", cost_centre="cost_centre",
                       workflow="workflow", release="pipeline_release")
# the gate's own day (qc_gates_daily), not the run's day the QC page counts on
QC_COLUMNS = Columns(time="day_at", month="month", project="project")


@dataclass(frozen=True, slots=True)
class Figures:
    """Runs finished, failed, estimated cost and the QC pass rate of a period."""

    runs_finished: int
    runs_failed: int
    cost_usd: float
    qc_gated: int
    qc_passed: int

    @property
    def qc_pass_rate(self) -> float | None:
        return self.qc_passed / self.qc_gated if self.qc_gated else None


def _month_start(f: Filters) -> Filters:
    """``f`` with its range widened to whole months (cost rows are per usage month)."""
    start = f.start.replace(day=1) if f.start else None
    return Filters(start=start, end=f.end, project=f.project, cost_centre=f.cost_centre,
                   workflow=f.workflow, release=f.release)


def figures(con: Engine, f: Filters, suite: str = QC_SUITE) -> Figures:
    eng = as_engine(con)
    cond, params = where(f, RUN_COLUMNS, "AND")
    (runs,) = eng.rows(
        f"""SELECT coalesce(sum(runs), 0) AS finished,
                   coalesce(sum(CASE WHEN status = 'FAILED' THEN runs END), 0) AS failed
            FROM runs_daily WHERE status IN ('SUCCEEDED', 'FAILED') {cond}""", params)
    cond, params = where(_month_start(f), COST_COLUMNS, "AND")
    (cost,) = eng.rows(
        f"SELECT coalesce(sum(cost_usd), 0) AS cost FROM costs_monthly WHERE true {cond}", params)
    cond, params = where(f, QC_COLUMNS, "AND")
    (qc,) = eng.rows(
        f"""SELECT coalesce(sum(runs), 0) AS gated,
                   coalesce(sum(CASE WHEN verdict = 'pass' THEN runs END), 0) AS passed
            FROM qc_gates_daily WHERE suite = ? {cond}""", [suite, *params])
    return Figures(int(runs["finished"]), int(runs["failed"]), float(cost["cost"]),
                   int(qc["gated"]), int(qc["passed"]))


def month_bounds(day: date) -> tuple[Filters, Filters]:
    """Date ranges of the month of ``day`` up to ``day``, and of the whole month before."""
    first = day.replace(day=1)
    prev_last = first - timedelta(days=1)
    return Filters(start=first, end=day), Filters(start=prev_last.replace(day=1), end=prev_last)


def with_tags(rng: Filters, f: Filters) -> Filters:
    """The date range of ``rng`` with the tag filters of ``f``."""
    return Filters(start=rng.start, end=rng.end, project=f.project, cost_centre=f.cost_centre,
                   workflow=f.workflow, release=f.release)


def daily_runs(con: Engine, f: Filters) -> pa.Table:
    """``day, status, runs``: finished runs per UTC day and outcome (days with none: no row)."""
    cond, params = where(f, RUN_COLUMNS, "AND")
    return as_engine(con).table(
        f"""SELECT CAST(day_at AS DATE) AS day, status, CAST(sum(runs) AS BIGINT) AS runs
            FROM runs_daily WHERE status IN ('SUCCEEDED', 'FAILED') {cond}
            GROUP BY CAST(day_at AS DATE), status ORDER BY day, status""", params)


def with_zero_days(rows: list[dict[str, Any]], start: date, end: date,
                   statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED")) -> list[dict[str, Any]]:
    """``rows`` (day, status, runs) with a zero row for every day and status that has none."""
    have = {(r["day"], r["status"]): r["runs"] for r in rows}
    out, day = [], start
    while day <= end:
        out += [{"day": day, "status": s, "runs": have.get((day, s), 0)} for s in statuses]
        day += timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class Attention:
    """What needs a person now."""

    stuck_runs: pa.Table  # run_id, project, sample_id, status, dispatched_at, open_h
    waiting_samples: pa.Table  # project, sample_id, r1_files, r2_files, last_arrival_at
    qc_reviews: pa.Table  # run_id, project, sample_id, checks_not_passed, evaluated_at
    month_cost_usd: float  # estimated cost of the current month so far


def attention(con: Engine, now: datetime, stuck_after_h: float = 24.0,
              suite: str = QC_SUITE) -> Attention:
    """Runs open for more than ``stuck_after_h`` hours at ``now``, samples missing a mate, QC
    verdicts ``review``, and this month's estimated cost (for the budget)."""
    eng = as_engine(con)
    # A run is open while none of its rows is SUCCEEDED or FAILED (run_latest's rule: finished
    # stays finished), so the latest row is looked for among the open runs only, not by a
    # window over every run of the lake (1.4 s on a seed-scale year).
    stuck = eng.table(
        """
        WITH f AS (
            SELECT run_id, min(status_at) AS first_at FROM runs GROUP BY run_id
            HAVING count(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN 1 END) = 0
               AND min(status_at) < CAST(? AS TIMESTAMP) - INTERVAL '1' SECOND * ?
        ),
        l AS (
            SELECT * FROM (
                SELECT r.run_id, r.project, r.sample_id, r.status,
                       row_number() OVER (PARTITION BY r.run_id ORDER BY r.status_at DESC,
                           CASE r.status WHEN 'RUNNING' THEN 2 ELSE 1 END DESC) AS rn__
                FROM runs r WHERE r.run_id IN (SELECT run_id FROM f)) WHERE rn__ = 1
        )
        SELECT l.run_id, l.project, l.sample_id, l.status, f.first_at AS dispatched_at,
               date_diff('second', f.first_at, CAST(? AS TIMESTAMP)) / 3600.0 AS open_h
        FROM l JOIN f ON f.run_id = l.run_id
        ORDER BY f.first_at, l.run_id""",
        [_ts(now), int(stuck_after_h * 3600), _ts(now)])
    waiting = eng.table(
        """
        WITH cur AS (
            SELECT * FROM (
                SELECT a.*, row_number() OVER (PARTITION BY object_uri
                                               ORDER BY event_at DESC, etag DESC) AS rn__
                FROM arrivals a
                WHERE input_kind IN ('fastq', 'ora') AND sample_id IS NOT NULL) WHERE rn__ = 1
        ), s AS (
            SELECT project, sample_id, count(CASE WHEN mate = 'R1' THEN 1 END) AS r1_files,
                   count(CASE WHEN mate = 'R2' THEN 1 END) AS r2_files,
                   max(event_at) AS last_arrival_at
            FROM cur GROUP BY project, sample_id
        )
        SELECT * FROM s WHERE r1_files <> r2_files ORDER BY last_arrival_at, project, sample_id""")
    reviews = eng.table(
        """SELECT run_id, project, sample_id, checks_not_passed, evaluated_at FROM qc_verdicts
           WHERE suite = ? AND verdict = 'review' ORDER BY evaluated_at, run_id""", [suite])
    this_month, _ = month_bounds(now.date())
    cond, params = where(this_month, COST_COLUMNS, "AND")
    (cost,) = eng.rows(
        f"SELECT coalesce(sum(cost_usd), 0) AS cost FROM costs_monthly WHERE true {cond}", params)
    return Attention(stuck, waiting, reviews, float(cost["cost"]))


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")
