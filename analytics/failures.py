"""Failures and Spot: failed attempts by kind over time, Spot reclaims by instance type, zone and
hour, where retried runs ended, and what attempts that did not finish cost.

Everything here reads daily rollups (``analytics.failure_rollups``: finished attempts by the day
and hour they ended, retried runs by the day of their current status, attempts' cost by the day
of usage), never the millions of attempt rows: a month the rollup has not caught up with is
computed from the facts by the rollup's view, so the answer is the facts' either way. Failures
per day read the attempts rollup (``attempts_daily``) when the filters ask only for a date range
and projects. An attempt's availability zone is not in the Batch events: it comes from the
billing export's lines for its instance, ``unknown`` until one is loaded.

Every function takes an ``Engine`` and a ``Filters`` and returns an Arrow table, empty (or all
zeros) on an empty lake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from analytics.engine import Engine, as_engine
from analytics.failure_rollups import kind
from analytics.filters import Columns, Filters, where
from analytics.periods import Grain, check_grain, fill, span

if TYPE_CHECKING:
    from collections.abc import Sequence

# What each rollup's columns answer for; ``attempts_daily`` has only the project tag.
ROLLUP_COLUMNS = Columns(time="day_at", month="month", project="project")
DAILY_COLUMNS = Columns(time="day_at", month="month", project="project",
                        cost_centre="cost_centre", workflow="workflow",
                        release="pipeline_release")

KIND = kind()
UNKNOWN_ZONE = "unknown"
OUTCOMES = ("succeeded on Spot", "succeeded on On-Demand", "succeeded, capacity unknown",
            "given up", "still running")
_PERIOD = {"day": "strftime({c}, '%Y-%m-%d')", "month": "strftime({c}, '%Y-%m')"}


def _table(con: Engine, sql: str, params: Sequence[Any] = ()) -> pa.Table:
    return as_engine(con).table(sql, list(params))


def failures_by_kind(con: Engine, f: Filters, grain: Grain = "day") -> pa.Table:
    """``period, failure_kind, attempts``: failed attempts per day (or month) they ended, by what
    the retry policy called them; every period of the range is there, zeros included."""
    column = _PERIOD[check_grain(grain)]
    if not (f.cost_centre or f.workflow or f.release):
        cond, params = where(f, ROLLUP_COLUMNS, "AND")
        period = column.format(c="day_at")
        rows = as_engine(con).rows(
            f"""
            SELECT {period} AS period, {KIND} AS failure_kind,
                   CAST(sum(attempts) AS BIGINT) AS attempts
            FROM attempts_daily WHERE status = 'FAILED' {cond}
            GROUP BY {period}, {KIND}""", params)
    else:
        cond, params = where(f, DAILY_COLUMNS, "AND")
        period = column.format(c="day_at")
        rows = as_engine(con).rows(
            f"""
            SELECT {period} AS period, {KIND} AS failure_kind,
                   CAST(sum(attempts) AS BIGINT) AS attempts
            FROM attempt_ends WHERE final_status = 'FAILED' {cond}
            GROUP BY {period}, {KIND}""", params)
    filled = fill(rows, "period", span(f, (r["period"] for r in rows), grain),
                  ["failure_kind"], ["attempts"]) if rows else []
    if not rows:  # nothing failed: the range's periods, each with no failure
        filled = [{"period": p, "failure_kind": "none", "attempts": 0}
                  for p in span(f, (), grain)]
    return pa.Table.from_pylist(filled, schema=pa.schema(
        [("period", pa.string()), ("failure_kind", pa.string()), ("attempts", pa.int64())]))


def reclaims(con: Engine, f: Filters) -> pa.Table:
    """``instance_type, availability_zone, hour, spot_attempts, reclaims``: finished Spot attempts
    and those ended by a reclaim, by instance type, zone and UTC hour of the day they ended."""
    cond, params = where(f, DAILY_COLUMNS, "AND")
    return _table(
        con,
        f"""
        SELECT coalesce(instance_type, 'unknown') AS instance_type,
               coalesce(availability_zone, '{UNKNOWN_ZONE}') AS availability_zone, hour,
               CAST(sum(attempts) AS BIGINT) AS spot_attempts,
               CAST(sum(CASE WHEN spot_reclaim THEN attempts ELSE 0 END) AS BIGINT) AS reclaims
        FROM attempt_ends
        WHERE capacity = 'spot' {cond}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3""",
        params,
    )


def retry_outcomes(con: Engine, f: Filters) -> pa.Table:
    """``outcome, runs, attempts, retries, spot_reclaims``: runs that took more than one attempt,
    by where they ended (Spot, On-Demand, given up, still running), selected by the time and
    tags of their current status."""
    cond, params = where(f, DAILY_COLUMNS, "AND")
    return _table(
        con,
        f"""
        SELECT outcome, CAST(sum(runs) AS BIGINT) AS runs,
               CAST(sum(attempts) AS BIGINT) AS attempts,
               CAST(sum(attempts) - sum(runs) AS BIGINT) AS retries,
               CAST(sum(spot_reclaims) AS BIGINT) AS spot_reclaims
        FROM retried_runs WHERE outcome IS NOT NULL {cond}
        GROUP BY outcome ORDER BY runs DESC, outcome""",
        params,
    )


def retry_cost(con: Engine, f: Filters) -> pa.Table:
    """``outcome, failure_kind, cost_kind, attempts, cost_usd, unpriced_rows, approximate_rows``:
    estimated cost of job attempts (run-level storage rows left out) by whether the attempt
    finished (``finished``), did not (``did not finish``, by failure kind) or is still going."""
    cond, params = where(f, DAILY_COLUMNS, "AND")
    return _table(
        con,
        f"""
        SELECT outcome, failure_kind, cost_kind, CAST(sum(attempts) AS BIGINT) AS attempts,
               sum(cost_usd) AS cost_usd, CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows,
               CAST(sum(approximate_rows) AS BIGINT) AS approximate_rows
        FROM attempt_costs WHERE outcome IS NOT NULL {cond}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3""",
        params,
    )


def wasted_share(cost: pa.Table) -> tuple[float, float, float | None]:
    """From ``retry_cost``: spent on attempts that did not finish, spent on all attempts, and the
    share (None when nothing was spent)."""
    rows = cost.to_pylist()
    lost = sum(r["cost_usd"] or 0 for r in rows if r["outcome"] == "did not finish")
    total = sum(r["cost_usd"] or 0 for r in rows)
    return lost, total, (lost / total if total else None)

