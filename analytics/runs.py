"""Runs, one by one: the runs table, one run's attempts, decisions, cost lines and QC checks,
turnaround and its parts per week, and the backlog per day.

The runs table reads the facts (``runs``, ``job_attempts``, ``costs``, ``qc_results``) of the
months the date range touches and one month either side (a run dispatched late in a month
finishes early in the next; its QC verdict may come a month later), so a year of lake costs what
the chosen weeks cost. One run's drill-down reads only the months that run lived in.
Turnaround reads the ``run_turnaround`` rollup (one row a run with a QC verdict) and takes its
weekly percentiles in SQL, so a year of gated runs reaches the page as a few hundred rows.
Every function takes an ``Engine`` and returns an Arrow table or plain values, empty on an empty
lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where
from analytics.rollups import around, shift
from analytics.run_rollups import FINISHED, QC_SUITE
from analytics.run_rollups import LATEST_ORDER as _LATEST_ORDER

if TYPE_CHECKING:
    import pyarrow as pa

_RUN_FIELDS = ("run_id, status, status_at, reason, project, sample_id, cost_centre, workflow, "
               "pipeline_release, month")
RUN_COLUMNS = Columns(time="l.status_at", project="l.project", cost_centre="l.cost_centre",
                      workflow="l.workflow", release="l.pipeline_release")


def _months_sql(months: list[str] | None, column: str = "month") -> str:
    """``AND month IN (…)`` for the months (validated ``YYYY-MM`` strings), or nothing."""
    if months is None:
        return ""
    if not months:
        return " AND false"
    for m in months:
        date.fromisoformat(m + "-01")  # only month names reach the SQL text
    return f" AND {column} IN ({', '.join(repr(m) for m in months)})"


def _reach(f: Filters) -> list[str] | None:
    months = f.months()
    return None if months is None else around(months, 1)


# ``runs_daily`` counts each run once, on the day of its current status, by these tags.
_DAILY_COLUMNS = Columns(project="project", workflow="workflow", release="pipeline_release")


def _newest(con: Engine, f: Filters, status: tuple[str, ...], limit: int
            ) -> tuple[str, int] | None:
    """With no date range: the earliest month (of their current status) of the newest ``limit``
    runs ``f`` and ``status`` select, and how many runs they select, from ``runs_daily``.

    None when the rollup cannot answer: a date range (the facts of its months are read anyway),
    a cost centre filter (not among the rollup's tags), or no run counted. On Athena the rollup
    is as the last ``seqledger lake rollup`` wrote it: the count lags facts written since, the
    rows do not (every month from the one named on is read, and runs only move later).
    """
    if f.months() is not None or f.values("cost_centre"):
        return None
    cond, params = where(f, _DAILY_COLUMNS, "AND")
    if status:
        cond += f" AND status IN ({', '.join('?' * len(status))})"
        params = [*params, *status]
    counts = as_engine(con).rows(
        f"SELECT substr(CAST(CAST(day_at AS DATE) AS VARCHAR), 1, 7) AS m, sum(runs) AS n "
        f"FROM runs_daily WHERE true {cond} GROUP BY 1 ORDER BY 1 DESC", params)
    total, earliest = 0, None
    for row in counts:
        if earliest is None or total < limit:
            earliest = row["m"]
        total += int(row["n"])
    return None if earliest is None else (earliest, total)


@dataclass(frozen=True, slots=True)
class RunsPage:
    """The runs a filter selects: the newest ``limit`` of them, and how many there are."""

    rows: pa.Table
    total: int


def runs_table(con: Engine, f: Filters, status: tuple[str, ...] = (), limit: int = 500
               ) -> RunsPage:
    """``run_id, status, project, sample_id, workflow, pipeline_release, dispatched_at,
    finished_at, attempts, spot_reclaims, cost_usd, qc_verdict, reason`` newest first, at most
    ``limit`` (``reason``: why a failed run failed).

    A run is selected by its current status time and tags; ``status`` narrows to those statuses.
    With no date range, the newest runs sit in the last months: ``runs_daily`` says which months
    hold them and how many runs there are, and only those months (and the one before, for a
    run's first status) are windowed, not every run status row of the lake.
    """
    newest = _newest(con, f, status, limit)
    if newest is None:
        reach = _months_sql(_reach(f))
    else:
        date.fromisoformat(newest[0] + "-01")  # only a month name reaches the SQL text
        reach = f" AND month >= '{shift(newest[0], -1)}'"
    cond, params = where(f, RUN_COLUMNS, "AND")
    if status:
        cond += f" AND l.status IN ({', '.join('?' * len(status))})"
        params = [*params, *status]
    # Only the columns the table and the filters use: the window sorts every status row.
    base = f"""
        WITH r AS (SELECT {_RUN_FIELDS} FROM runs WHERE true{reach}),
        l AS (
            SELECT * FROM (
                SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {_LATEST_ORDER})
                    AS rn__
                FROM r) WHERE rn__ = 1
        ),
        sel AS (
            SELECT l.run_id, l.status, l.project, l.sample_id, l.workflow, l.pipeline_release,
                   l.status_at, l.reason,
                   CASE WHEN l.status IN {FINISHED} THEN l.status_at END AS finished_at
            FROM l WHERE true {cond}
        )"""
    # The facts of the page's runs sit in the months of their status times (and one either
    # side): only those partitions are read, even when the range is all time. The count rides
    # along, so the window over the runs is computed once for both.
    times = as_engine(con).rows(
        f"{base} SELECT m, (SELECT count(*) FROM sel) AS n FROM ("
        f"SELECT DISTINCT substr(CAST(CAST(status_at AS DATE) AS VARCHAR), 1, 7) AS m "
        f"FROM (SELECT status_at FROM sel ORDER BY status_at DESC, run_id LIMIT {int(limit)}))",
        params)
    total = newest[1] if newest else times[0]["n"] if times else 0
    page_months = _months_sql(around([t["m"] for t in times], 1))
    rows = as_engine(con).table(
        f"""{base},
        page AS (SELECT * FROM sel ORDER BY status_at DESC, run_id LIMIT {int(limit)}),
        first AS (SELECT run_id, min(status_at) AS dispatched_at FROM r
                  WHERE run_id IN (SELECT run_id FROM page) GROUP BY run_id),
        att AS (
            SELECT run_id, count(DISTINCT CAST(attempt AS VARCHAR) || '/' || job_id) AS attempts,
                   count(DISTINCT CASE WHEN status = 'FAILED' AND status_reason LIKE 'Host EC2%'
                                       THEN CAST(attempt AS VARCHAR) || '/' || job_id END)
                       AS spot_reclaims
            FROM job_attempts
            WHERE run_id IN (SELECT run_id FROM page){page_months}
            GROUP BY run_id
        ),
        cost AS (
            SELECT run_id, sum(cost_usd) AS cost_usd FROM costs
            WHERE run_id IN (SELECT run_id FROM page){page_months}
            GROUP BY run_id
        ),
        qc AS (
            SELECT run_id, max_by(verdict, evaluated_at) AS qc_verdict FROM qc_results
            WHERE check_id = 'overall' AND suite = '{QC_SUITE}'
              AND run_id IN (SELECT run_id FROM page)
            GROUP BY run_id
        )
        SELECT p.run_id, p.status, p.project, p.sample_id, p.workflow, p.pipeline_release,
               d.dispatched_at, p.finished_at, coalesce(a.attempts, 0) AS attempts,
               coalesce(a.spot_reclaims, 0) AS spot_reclaims, c.cost_usd, q.qc_verdict, p.reason
        FROM page p
        LEFT JOIN first d ON d.run_id = p.run_id
        LEFT JOIN att a ON a.run_id = p.run_id
        LEFT JOIN cost c ON c.run_id = p.run_id
        LEFT JOIN qc q ON q.run_id = p.run_id
        ORDER BY p.status_at DESC, p.run_id""",
        params,
    )
    return RunsPage(rows, int(total))


def _run_months(con: Engine, run_id: str) -> list[str]:
    """The months a run's rows can sit in: those of its status rows, and one after."""
    rows = as_engine(con).rows(
        "SELECT DISTINCT month FROM runs WHERE run_id = ? ORDER BY month", [run_id])
    return around([r["month"] for r in rows if r["month"]], 1)


@dataclass(frozen=True, slots=True)
class RunDetail:
    """One run: its status rows, attempts (one row each), decisions, cost lines, QC checks."""

    run_id: str
    statuses: pa.Table
    attempts: pa.Table
    decisions: pa.Table
    costs: pa.Table
    qc_checks: pa.Table

    @property
    def found(self) -> bool:
        return self.statuses.num_rows > 0


def run_detail(con: Engine, run_id: str) -> RunDetail:
    """Everything the lake holds about ``run_id``, read from the months it lived in."""
    eng = as_engine(con)
    months = _months_sql(_run_months(con, run_id))
    statuses = eng.table(
        "SELECT status, status_at, reason, project, sample_id, workflow, pipeline_release, "
        "executor FROM runs WHERE run_id = ? ORDER BY status_at, status", [run_id])
    attempts = eng.table(
        f"""
        SELECT a.job_id, a.attempt, a.capacity, a.instance_type, a.job_queue,
               a.submitted_at, a.started_at, a.ended_at, a.status, a.status_reason, a.exit_code,
               d.failure_kind, d.action, d.next_capacity, a.instance_id,
               i.availability_zone AS az,
               CAST(date_diff('second', a.submitted_at, coalesce(a.started_at, a.ended_at))
                    AS DOUBLE) AS queue_s,
               CAST(date_diff('second', a.started_at, a.ended_at) AS DOUBLE) AS run_s
        FROM (
            SELECT job_id, attempt,
                   max(capacity) AS capacity, max(instance_type) AS instance_type,
                   max(job_queue) AS job_queue, min(status_at) AS submitted_at,
                   coalesce(min(started_at),
                            min(CASE WHEN status = 'RUNNING' THEN status_at END)) AS started_at,
                   coalesce(max(stopped_at),
                            max(CASE WHEN status IN {FINISHED} THEN status_at END)) AS ended_at,
                   max_by(status, CASE status WHEN 'SUCCEEDED' THEN 7 WHEN 'FAILED' THEN 7
                       WHEN 'RUNNING' THEN 6 WHEN 'STARTING' THEN 5 WHEN 'RUNNABLE' THEN 4
                       WHEN 'PENDING' THEN 3 WHEN 'SUBMITTED' THEN 2 ELSE 1 END) AS status,
                   max(status_reason) AS status_reason, max(exit_code) AS exit_code,
                   max(instance_id) AS instance_id
            FROM job_attempts WHERE run_id = ?{months}
            GROUP BY job_id, attempt
        ) a
        LEFT JOIN (SELECT * FROM decisions WHERE run_id = ?{months}) d
               ON d.job_id = a.job_id AND d.attempt = a.attempt
        -- the zone of the attempt's instance (instances, from DescribeInstances), when known
        LEFT JOIN instance_lives i ON i.instance_id = a.instance_id
        ORDER BY a.attempt, a.submitted_at, a.job_id""",
        [run_id, run_id])
    decisions = eng.table(
        f"SELECT attempt, job_id, decided_at, failure_kind, action, next_capacity, reason "
        f"FROM decisions WHERE run_id = ?{months} ORDER BY decided_at, attempt", [run_id])
    costs = eng.table(
        f"SELECT attempt, job_id, component, quantity, quantity_unit, rate_usd, cost_usd, "
        f"capacity, instance_type, price_status FROM costs WHERE run_id = ?{months} "
        f"ORDER BY attempt, component", [run_id])
    qc = eng.table(
        "SELECT suite, check_id, metric_id, observed_value, observed_text, threshold, passed, "
        "severity, verdict, evaluated_at FROM qc_results WHERE run_id = ? "
        "ORDER BY suite, check_id = 'overall' DESC, check_id", [run_id])
    return RunDetail(run_id, statuses, attempts, decisions, costs, qc)


TURNAROUND_PARTS = ("waiting_h", "queue_h", "run_h", "qc_h", "turnaround_h")


TURNAROUND_COLUMNS = Columns(time="evaluated_at", project="project", cost_centre="cost_centre",
                             workflow="workflow", release="pipeline_release")


def turnaround(con: Engine, f: Filters) -> pa.Table:
    """Per run that has a QC verdict: ``week`` (Monday, of the verdict) and the hours of each part.

    ``waiting_h``: first input arrival to dispatch (waiting for mates and for the sample sheet);
    ``queue_h``: dispatch to the first attempt's start; ``run_h``: that start to the run's end
    (retries included); ``qc_h``: end to the verdict; ``turnaround_h``: arrival (or dispatch when
    no arrival is recorded) to the verdict. Selected by the verdict's day and the run's tags.
    From the ``run_turnaround`` rollup (``analytics.run_rollups``): one row a run, not its facts.
    """
    cond, params = where(f, TURNAROUND_COLUMNS, "AND")
    return as_engine(con).table(
        f"""
        SELECT CAST(date_trunc('week', evaluated_at) AS DATE) AS week, run_id,
               {", ".join(TURNAROUND_PARTS)}
        FROM run_turnaround WHERE true {cond} ORDER BY week, run_id""",
        params,
    )


def turnaround_weeks(con: Engine, f: Filters) -> list[dict[str, Any]]:
    """Per week and part: runs, p10, median, p90 and max hours, computed by the engine.

    The page gets a few hundred rows, not one per run. Percentiles interpolate between the two
    nearest values (DuckDB's ``quantile_cont``; Athena's ``approx_percentile`` is close, not exact).
    """
    cond, params = where(f, TURNAROUND_COLUMNS, "AND")
    parts = " UNION ALL ".join(
        f"SELECT week, {i} AS i__, '{part}' AS part, count({part}) AS runs, "
        f"quantile_cont({part}, 0.1) AS p10_h, quantile_cont({part}, 0.5) AS median_h, "
        f"quantile_cont({part}, 0.9) AS p90_h, max({part}) AS max_h "
        f"FROM t GROUP BY week HAVING count({part}) > 0"
        for i, part in enumerate(TURNAROUND_PARTS))
    rows = as_engine(con).rows(
        f"""
        WITH t AS (SELECT CAST(date_trunc('week', evaluated_at) AS DATE) AS week,
                          {", ".join(TURNAROUND_PARTS)}
                   FROM run_turnaround WHERE true {cond})
        SELECT week, part, runs, p10_h, median_h, p90_h, max_h FROM ({parts}) w
        ORDER BY week, i__""",
        params,
    )
    return [{**r, "runs": int(r["runs"])} for r in rows]


def run_flow(con: Engine, f: Filters) -> pa.Table:
    """``day, dispatched, finished``: runs first dispatched and runs finished per UTC day, by tag.

    Read over every month (a backlog counts what was open before the range); ``backlog`` turns it
    into the runs open at the end of each day.
    """
    cond, params = where(Filters(**{t: f.values(t) for t in
                                    ("project", "cost_centre", "workflow", "release")}),
                         RUN_COLUMNS, "AND")
    return as_engine(con).table(
        f"""
        WITH l AS (
            SELECT * FROM (
                SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {_LATEST_ORDER})
                    AS rn__
                FROM runs r) WHERE rn__ = 1
        ),
        sel AS (SELECT run_id, status, status_at FROM l WHERE true {cond}),
        first AS (SELECT run_id, min(status_at) AS first_at FROM runs
                  WHERE run_id IN (SELECT run_id FROM sel) GROUP BY run_id),
        ev AS (
            SELECT CAST(first_at AS DATE) AS day, 1 AS dispatched, 0 AS finished FROM first
            UNION ALL
            SELECT CAST(status_at AS DATE), 0, 1 FROM sel WHERE status IN {FINISHED}
        )
        SELECT day, CAST(sum(dispatched) AS BIGINT) AS dispatched,
               CAST(sum(finished) AS BIGINT) AS finished
        FROM ev GROUP BY day ORDER BY day""",
        params,
    )


def backlog(flow: pa.Table, start: date | None = None, end: date | None = None
            ) -> list[dict[str, Any]]:
    """Every day from ``start`` to ``end`` (the flow's first and last days when None):
    dispatched, finished and open runs at the day's end; days without runs are zeros."""
    days = dict(zip(flow.column("day").to_pylist(),
                    zip(flow.column("dispatched").to_pylist(),
                        flow.column("finished").to_pylist(), strict=True), strict=True))
    if not days:
        return []
    first, last = min(days), max(days)
    lo, hi = start or first, end or last
    open_runs = sum(d - f for day, (d, f) in days.items() if day < lo)
    out, day = [], lo
    while day <= hi:
        d, f = days.get(day, (0, 0))
        open_runs += d - f
        out.append({"day": day, "dispatched": d, "finished": f, "open_runs": open_runs})
        day += timedelta(days=1)
    return out
