"""Typed queries for the overview: throughput, statuses, failures, attempts, cost, QC pass rate.

Each function takes an ``analytics.engine.Engine`` (DuckDB or Athena; a DuckDB connection from
``analytics.engine.connect`` is accepted too) and returns a pyarrow Table or plain values. The
everyday figures read the rollups (``runs_daily``, ``run_samples``, ``attempts_daily``,
``costs_monthly``, and ``qc_gates_daily`` for QC verdicts, counted on the day of the latest gate:
see ``analytics.rollups``), whose stale months are computed from the facts on the spot, so the
answer is always the facts' answer. ``recent_failures``, a drill-down, reads ``run_outcomes``.
All of them work on an empty lake: zero rows, zero counts, and ``None`` for a rate with nothing
to divide.

Each takes an optional ``analytics.filters.Filters`` (default: everything). A closed date range
also keeps only its ``month`` partitions, which is what bounds the bytes Athena scans
(``benchmarks/bench_athena_scan.py``). The monthly rollups (``run_samples``, ``costs_monthly``)
count a month whole when the range touches it; a tag a source has no column for does not narrow
it (``analytics.filters.unapplied`` names it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where
from analytics.rollups import outcomes_within

if TYPE_CHECKING:
    import pyarrow as pa

QC_SUITE = "sample_qc"
UNTAGGED = "(untagged)"
_PERIOD = {"day": "strftime(day_at, '%Y-%m-%d')", "month": "strftime(day_at, '%Y-%m')"}
_FINISHED = "status IN ('SUCCEEDED', 'FAILED')"

# The columns of each source that answer for the filters (``month`` is the partition column).
RUNS_DAILY = Columns(time="day_at", month="month", project="project", workflow="workflow",
                     release="pipeline_release")
ATTEMPTS_DAILY = Columns(time="day_at", month="month", project="project")
RUN_SAMPLES = Columns(time="month_at", month="month")
COSTS_MONTHLY = Columns(time="month_at", month="month", project="project",
                        cost_centre="cost_centre", workflow="workflow", release="pipeline_release")
QC_GATES = Columns(time="day_at", month="month", project="project")  # the gate's own day
# run_latest keeps a run's latest row across months: a month filter cannot pass its window
# (recent_failures reads the range's months through analytics.rollups.outcomes_within instead)
RUN_OUTCOMES = Columns(time="status_at", project="project", workflow="workflow",
                       release="pipeline_release")
_MONTHLY = (RUN_SAMPLES, COSTS_MONTHLY)


def _where(f: Filters | None, cols: Columns, prefix: str = "AND") -> tuple[str, list[Any]]:
    """The filter's SQL for a source; a monthly rollup keeps every month the range touches."""
    if f is None:
        return "", []
    if cols in _MONTHLY and f.start is not None:
        f = replace(f, start=f.start.replace(day=1))  # month_at is the month's first instant
    return where(f, cols, prefix)


@dataclass(frozen=True, slots=True)
class Overview:
    """The headline numbers of the lake."""

    samples: int
    runs: int
    runs_succeeded: int
    runs_failed: int
    runs_active: int
    attempts: int
    spot_reclaims: int
    qc_gated: int
    qc_passed: int
    qc_review: int
    qc_failed: int
    total_cost_usd: float

    @property
    def qc_pass_rate(self) -> float | None:
        """Share of gated runs whose verdict is pass; None when nothing was gated."""
        return self.qc_passed / self.qc_gated if self.qc_gated else None

    @property
    def is_empty(self) -> bool:
        return not (self.runs or self.attempts or self.qc_gated or self.total_cost_usd)


def _table(con: Engine, sql: str, params: list[Any] | None = None) -> pa.Table:
    return as_engine(con).table(sql, params or [])


def _one(con: Engine, sql: str, params: list[Any] | None = None) -> tuple:
    (row,) = as_engine(con).rows(sql, params or [])
    return tuple(row.values())


def overview(con: Engine, suite: str = QC_SUITE, filters: Filters | None = None) -> Overview:
    """Samples, runs by outcome, attempts, Spot reclaims, QC verdicts, total estimated cost."""
    sw, sp = _where(filters, RUN_SAMPLES, "WHERE")
    rw, rp = _where(filters, RUNS_DAILY, "WHERE")
    aw, ap = _where(filters, ATTEMPTS_DAILY)
    qw, qp = _where(filters, QC_GATES)
    cw, cp = _where(filters, COSTS_MONTHLY, "WHERE")
    (samples,) = _one(con, f"SELECT count(DISTINCT sample_id) FROM run_samples {sw}", sp)
    runs, ok, failed, attempts, reclaims = _one(
        con,
        f"""
        SELECT coalesce(sum(runs), 0),
               coalesce(sum(CASE WHEN status = 'SUCCEEDED' THEN runs END), 0),
               coalesce(sum(CASE WHEN status = 'FAILED' THEN runs END), 0),
               coalesce(sum(attempts), 0), coalesce(sum(spot_reclaims), 0)
        FROM runs_daily {rw}""",
        rp,
    )
    # Attempts of jobs whose run has no run row yet still count.
    orphan_attempts, orphan_reclaims = _one(
        con,
        f"""
        SELECT coalesce(sum(attempts), 0),
               coalesce(sum(CASE WHEN spot_reclaim THEN attempts END), 0)
        FROM attempts_daily WHERE orphan {aw}""",
        ap,
    )
    gated, passed, review, qc_failed = _one(
        con,
        f"""
        SELECT coalesce(sum(runs), 0), coalesce(sum(CASE WHEN verdict = 'pass' THEN runs END), 0),
               coalesce(sum(CASE WHEN verdict = 'review' THEN runs END), 0),
               coalesce(sum(CASE WHEN verdict = 'fail' THEN runs END), 0)
        FROM qc_gates_daily WHERE suite = ? {qw}""",
        [suite, *qp],
    )
    (cost,) = _one(con, f"SELECT coalesce(sum(cost_usd), 0) FROM costs_monthly {cw}", cp)
    return Overview(
        samples=int(samples),
        runs=int(runs),
        runs_succeeded=int(ok),
        runs_failed=int(failed),
        runs_active=int(runs - ok - failed),
        attempts=int(attempts + orphan_attempts),
        spot_reclaims=int(reclaims + orphan_reclaims),
        qc_gated=int(gated),
        qc_passed=int(passed),
        qc_review=int(review),
        qc_failed=int(qc_failed),
        total_cost_usd=float(cost),
    )


def runs_by_status(con: Engine, filters: Filters | None = None) -> pa.Table:
    """``status, runs``: how many runs are in each current status, most first."""
    w, params = _where(filters, RUNS_DAILY, "WHERE")
    return _table(
        con,
        f"""
        SELECT status, CAST(sum(runs) AS BIGINT) AS runs FROM runs_daily {w}
        GROUP BY status ORDER BY runs DESC, status""",
        params,
    )


def throughput(con: Engine, grain: Literal["day", "month"] = "day",
               filters: Filters | None = None) -> pa.Table:
    """``period, status, runs``: finished runs per UTC day (``YYYY-MM-DD``) or month (``YYYY-MM``).

    ``period`` is a string so charts treat it as ordinal; ``status`` is SUCCEEDED or FAILED.
    """
    try:
        column = _PERIOD[grain]
    except KeyError:
        raise ValueError(f"grain must be 'day' or 'month', not {grain!r}") from None
    w, params = _where(filters, RUNS_DAILY)
    return _table(
        con,
        f"""
        SELECT {column} AS period, status, CAST(sum(runs) AS BIGINT) AS runs FROM runs_daily
        WHERE {_FINISHED} {w}
        GROUP BY {column}, status ORDER BY period, status""",
        params,
    )


def failures_by_reason(con: Engine, filters: Filters | None = None) -> pa.Table:
    """``reason, runs``: failed runs per failure reason (``unknown`` when none was recorded)."""
    w, params = _where(filters, RUNS_DAILY)
    return _table(
        con,
        f"""
        SELECT coalesce(reason, 'unknown') AS reason, CAST(sum(runs) AS BIGINT) AS runs
        FROM runs_daily WHERE status = 'FAILED' {w}
        GROUP BY coalesce(reason, 'unknown') ORDER BY runs DESC, reason""",
        params,
    )


def attempt_failures(con: Engine, filters: Filters | None = None) -> pa.Table:
    """``failure_kind, attempts``: failed attempts by what the policy called them.

    Attempts with no recorded decision are ``spot_reclaim`` when Batch said the host was
    terminated, else ``unclassified``.
    """
    kind = (
        "coalesce(failure_kind, CASE WHEN spot_reclaim THEN 'spot_reclaim' ELSE 'unclassified' END)"
    )
    w, params = _where(filters, ATTEMPTS_DAILY)
    return _table(
        con,
        f"""
        SELECT {kind} AS failure_kind, CAST(sum(attempts) AS BIGINT) AS attempts
        FROM attempts_daily WHERE status = 'FAILED' {w}
        GROUP BY {kind} ORDER BY attempts DESC, failure_kind""",
        params,
    )


def attempts_by_capacity(con: Engine, filters: Filters | None = None) -> pa.Table:
    """``capacity, attempts, spot_reclaims``: attempts on Spot and On-Demand."""
    w, params = _where(filters, ATTEMPTS_DAILY, "WHERE")
    return _table(
        con,
        f"""
        SELECT coalesce(capacity, 'unknown') AS capacity, CAST(sum(attempts) AS BIGINT) AS attempts,
               CAST(coalesce(sum(CASE WHEN spot_reclaim THEN attempts END), 0) AS BIGINT)
                   AS spot_reclaims
        FROM attempts_daily {w}
        GROUP BY coalesce(capacity, 'unknown') ORDER BY attempts DESC, capacity""",
        params,
    )


def recent_failures(con: Engine, limit: int = 50, filters: Filters | None = None) -> pa.Table:
    """``run_id, sample_id, project, failed_at, reason, attempts, spot_reclaims``: latest first.

    With a closed date range, runs and their attempts are read from the facts of the range's
    months and the months either side (``analytics.rollups.outcomes_within``, the rollups' rule);
    otherwise from every month (``run_outcomes``).
    """
    w, params = _where(filters, RUN_OUTCOMES)
    months = filters.months() if filters else None
    within, source = (outcomes_within(months), "within__run_outcomes") if months else (
        "", "run_outcomes")
    return _table(
        con,
        f"""{within}
        SELECT run_id, sample_id, project, status_at AS failed_at, reason, attempts, spot_reclaims
        FROM {source} WHERE status = 'FAILED' {w}
        ORDER BY status_at DESC, run_id LIMIT {int(limit)}""",
        params,
    )


def cost_by_project(con: Engine, filters: Filters | None = None) -> pa.Table:
    """``project, cost_usd, unpriced_rows``: estimated cost per project tag, largest first.

    Rows without a project tag are grouped under ``(untagged)``; rows with no price are counted,
    not guessed.
    """
    w, params = _where(filters, COSTS_MONTHLY, "WHERE")
    return _table(
        con,
        f"""
        SELECT coalesce(project, '{UNTAGGED}') AS project,
               coalesce(sum(cost_usd), 0) AS cost_usd,
               CAST(coalesce(sum(unpriced_rows), 0) AS BIGINT) AS unpriced_rows
        FROM costs_monthly {w}
        GROUP BY coalesce(project, '{UNTAGGED}') ORDER BY cost_usd DESC, project""",
        params,
    )


def qc_verdict_counts(con: Engine, suite: str = QC_SUITE, filters: Filters | None = None
                      ) -> pa.Table:
    """``verdict, runs``: gated runs per verdict (pass, review, fail)."""
    w, params = _where(filters, QC_GATES)
    return _table(
        con,
        f"""
        SELECT verdict, CAST(sum(runs) AS BIGINT) AS runs FROM qc_gates_daily
        WHERE suite = ? {w} GROUP BY verdict ORDER BY runs DESC, verdict""",
        [suite, *params],
    )


def qc_pass_rate(con: Engine, suite: str = QC_SUITE, filters: Filters | None = None
                 ) -> float | None:
    """Share of gated runs that passed; None when no run was gated."""
    w, params = _where(filters, QC_GATES)
    gated, passed = _one(
        con,
        f"""
        SELECT coalesce(sum(runs), 0), coalesce(sum(CASE WHEN verdict = 'pass' THEN runs END), 0)
        FROM qc_gates_daily WHERE suite = ? {w}""",
        [suite, *params],
    )
    return passed / gated if gated else None


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """What the sidebar offers: the days with data and the values each tag takes in the lake."""

    first_day: date | None
    last_day: date | None
    project: tuple[str | None, ...]
    cost_centre: tuple[str | None, ...]
    workflow: tuple[str | None, ...]
    release: tuple[str | None, ...]


def filter_options(con: Engine) -> FilterOptions:
    """Days and tag values from the rollups (runs and costs), in one query: cheap, all values."""
    rows = as_engine(con).rows(
        """
        SELECT 'day' AS k, CAST(CAST(min(day_at) AS DATE) AS VARCHAR) AS v FROM runs_daily
        UNION ALL SELECT 'day', CAST(CAST(max(day_at) AS DATE) AS VARCHAR) FROM runs_daily
        UNION ALL SELECT 'day', CAST(CAST(min(month_at) AS DATE) AS VARCHAR) FROM costs_monthly
        UNION ALL SELECT 'day', CAST(CAST(max(month_at) AS DATE) AS VARCHAR) FROM costs_monthly
        UNION SELECT 'project', project FROM runs_daily
        UNION SELECT 'project', project FROM costs_monthly
        UNION SELECT 'cost_centre', cost_centre FROM costs_monthly
        UNION SELECT 'workflow', workflow FROM runs_daily
        UNION SELECT 'workflow', workflow FROM costs_monthly
        UNION SELECT 'release', pipeline_release FROM runs_daily
        UNION SELECT 'release', pipeline_release FROM costs_monthly"""
    )
    days = sorted(date.fromisoformat(r["v"]) for r in rows if r["k"] == "day" and r["v"])

    def values(kind: str) -> tuple[str | None, ...]:
        found = {r["v"] for r in rows if r["k"] == kind}
        return tuple(sorted(found, key=lambda v: (v is None, v or "")))

    return FilterOptions(
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
        project=values("project"),
        cost_centre=values("cost_centre"),
        workflow=values("workflow"),
        release=values("release"),
    )
