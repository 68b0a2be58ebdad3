"""The Failures and Spot questions, and the Cost page's cost per sample, as they were asked of
the facts before their rollups existed.

The oracle of ``test_page_rollups``: the same answers computed from ``job_attempts``,
``decisions``, ``runs``, ``billed_costs`` and ``cost_lines`` of the range's months and one either
side, whatever the filters (``failures_by_kind`` never takes the attempts rollup here); and the
Runs page's turnaround per run and its weekly percentiles, from ``runs``, ``job_attempts``,
``qc_results`` and ``arrivals`` (the oracle of ``test_turnaround_rollup``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where
from analytics.periods import Grain, check_grain, fill, span
from analytics.rollups import around

ATTEMPT_COLUMNS = Columns(time="a.ended_at", project="a.project", cost_centre="a.cost_centre",
                          workflow="a.workflow", release="a.pipeline_release")
RUN_COLUMNS = Columns(time="l.status_at", project="l.project", cost_centre="l.cost_centre",
                      workflow="l.workflow", release="l.pipeline_release")
COST_COLUMNS = Columns(time="c.usage_start_at", month="c.month", project="c.project",
                       cost_centre="c.cost_centre", workflow="c.workflow",
                       release="c.pipeline_release")
UNKNOWN_ZONE = "unknown"
_LATEST_RUN = ("CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN 1 ELSE 0 END DESC, "
               "status_at DESC, CASE status WHEN 'RUNNING' THEN 2 ELSE 1 END DESC")
_PERIOD = {"day": "strftime({c}, '%Y-%m-%d')", "month": "strftime({c}, '%Y-%m')"}


def _kind(p: str = "") -> str:
    """The failure kind of an attempt; with no decision, a reclaim when Batch said its host was
    terminated, else ``unclassified`` (as the overview counts them)."""
    return (f"coalesce({p}failure_kind, CASE WHEN {p}spot_reclaim THEN 'spot_reclaim' "
            "ELSE 'unclassified' END)")


KIND = _kind()


def _reach(f: Filters) -> str:
    """``AND month IN (…)``: the months of the range and one either side (nothing if open)."""
    months = f.months()
    if months is None:
        return ""
    return f" AND month IN ({', '.join(repr(m) for m in around(months, 1))})"


def _attempts_sql(f: Filters) -> str:
    """CTEs ``att`` (one row per attempt, its tags, end and final status) and ``out`` (with the
    policy's decision and whether it was a Spot reclaim), over the facts of the range's months."""
    reach = _reach(f)
    return f"""
        att AS (
            SELECT job_id, attempt, max(run_id) AS run_id, max(project) AS project,
                   max(cost_centre) AS cost_centre, max(workflow) AS workflow,
                   max(pipeline_release) AS pipeline_release, max(capacity) AS capacity,
                   max(instance_type) AS instance_type, max(instance_id) AS instance_id,
                   max(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN status END)
                       AS final_status,
                   max(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN status_at END)
                       AS ended_at,
                   max(CASE WHEN status = 'FAILED' THEN status_reason END) AS status_reason
            FROM job_attempts WHERE true{reach}
            GROUP BY job_id, attempt
        ),
        out AS (
            SELECT a.*, d.failure_kind, d.action,
                   CASE WHEN d.failure_kind = 'spot_reclaim' THEN TRUE
                        WHEN d.failure_kind IS NULL AND a.final_status = 'FAILED'
                             AND a.status_reason LIKE 'Host EC2%' THEN TRUE
                        ELSE FALSE END AS spot_reclaim
            FROM att a
            LEFT JOIN (SELECT * FROM decisions WHERE true{reach}) d
                   ON d.job_id = a.job_id AND d.attempt = a.attempt
        )"""


def _table(con: Engine, sql: str, params: list[Any]) -> pa.Table:
    return as_engine(con).table(sql, list(params))


def failures_by_kind(con: Engine, f: Filters, grain: Grain = "day") -> pa.Table:
    column = _PERIOD[check_grain(grain)]
    cond, params = where(f, ATTEMPT_COLUMNS, "AND")
    period = column.format(c="a.ended_at")
    rows = as_engine(con).rows(
        f"""
        WITH {_attempts_sql(f)}
        SELECT {period} AS period, {KIND} AS failure_kind, count(*) AS attempts
        FROM out a WHERE a.final_status = 'FAILED' {cond}
        GROUP BY {period}, {KIND}""", params)
    filled = fill(rows, "period", span(f, (r["period"] for r in rows), grain),
                  ["failure_kind"], ["attempts"]) if rows else []
    if not rows:
        filled = [{"period": p, "failure_kind": "none", "attempts": 0}
                  for p in span(f, (), grain)]
    return pa.Table.from_pylist(filled, schema=pa.schema(
        [("period", pa.string()), ("failure_kind", pa.string()), ("attempts", pa.int64())]))


def reclaims(con: Engine, f: Filters) -> pa.Table:
    """``instance_type, availability_zone, hour, spot_attempts, reclaims``: finished Spot attempts
    and those ended by a reclaim, by instance type, zone and UTC hour of the day they ended."""
    cond, params = where(f, ATTEMPT_COLUMNS, "AND")
    reach = _reach(f)
    return _table(
        con,
        f"""
        WITH {_attempts_sql(f)},
        zones AS (
            SELECT resource_id, max(availability_zone) AS availability_zone
            FROM billed_costs
            WHERE resource_id LIKE 'i-%' AND availability_zone IS NOT NULL
              AND availability_zone <> ''{reach}
            GROUP BY resource_id
        )
        SELECT coalesce(a.instance_type, 'unknown') AS instance_type,
               coalesce(z.availability_zone, '{UNKNOWN_ZONE}') AS availability_zone,
               CAST(hour(a.ended_at) AS INTEGER) AS hour,
               count(*) AS spot_attempts,
               count(CASE WHEN a.spot_reclaim THEN 1 END) AS reclaims
        FROM out a
        LEFT JOIN zones z ON z.resource_id = a.instance_id
        WHERE a.capacity = 'spot' AND a.final_status IS NOT NULL {cond}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3""",
        params,
    )


def retry_outcomes(con: Engine, f: Filters) -> pa.Table:
    """``outcome, runs, attempts, retries, spot_reclaims``: runs that took more than one attempt,
    by where they ended (Spot, On-Demand, given up, still running), selected by the time and
    tags of their current status."""
    cond, params = where(f, RUN_COLUMNS, "AND")
    return _table(
        con,
        f"""
        WITH {_attempts_sql(f)},
        l AS (
            SELECT * FROM (
                SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {_LATEST_RUN})
                    AS rn__
                FROM runs r WHERE true{_reach(f)}) WHERE rn__ = 1
        ),
        per_run AS (
            SELECT run_id, count(*) AS attempts,
                   count(CASE WHEN spot_reclaim THEN 1 END) AS spot_reclaims
            FROM out GROUP BY run_id
        ),
        last AS (
            SELECT * FROM (
                SELECT o.run_id, o.capacity, row_number() OVER (
                    PARTITION BY o.run_id ORDER BY o.attempt DESC) AS rn__
                FROM out o) WHERE rn__ = 1
        ),
        classed AS (
            SELECT CASE WHEN l.status = 'SUCCEEDED' AND t.capacity = 'spot'
                            THEN 'succeeded on Spot'
                        WHEN l.status = 'SUCCEEDED' AND t.capacity = 'on-demand'
                            THEN 'succeeded on On-Demand'
                        WHEN l.status = 'SUCCEEDED' THEN 'succeeded, capacity unknown'
                        WHEN l.status = 'FAILED' THEN 'given up'
                        ELSE 'still running' END AS outcome,
                   p.attempts, p.spot_reclaims
            FROM l
            JOIN per_run p ON p.run_id = l.run_id
            LEFT JOIN last t ON t.run_id = l.run_id
            WHERE p.attempts > 1 {cond}
        )
        SELECT outcome, count(*) AS runs, sum(attempts) AS attempts,
               sum(attempts) - count(*) AS retries, sum(spot_reclaims) AS spot_reclaims
        FROM classed GROUP BY outcome ORDER BY runs DESC, outcome""",
        params,
    )


def retry_cost(con: Engine, f: Filters) -> pa.Table:
    """``outcome, failure_kind, cost_kind, attempts, cost_usd, unpriced_rows, approximate_rows``:
    estimated cost of job attempts (run-level storage rows left out) by whether the attempt
    finished (``finished``), did not (``did not finish``, by failure kind) or is still going."""
    cond, params = where(f, COST_COLUMNS, "AND")
    return _table(
        con,
        f"""
        WITH {_attempts_sql(f)}
        SELECT CASE o.final_status WHEN 'SUCCEEDED' THEN 'finished'
                                   WHEN 'FAILED' THEN 'did not finish'
                                   ELSE 'in progress' END AS outcome,
               CASE WHEN o.final_status = 'FAILED' THEN {_kind('o.')} END
                   AS failure_kind,
               c.cost_kind, count(DISTINCT c.job_id || '/' || CAST(c.attempt AS VARCHAR))
                   AS attempts,
               sum(c.cost_usd) AS cost_usd, sum(c.unpriced_rows) AS unpriced_rows,
               sum(c.approximate_rows) AS approximate_rows
        FROM cost_lines c
        LEFT JOIN out o ON o.job_id = c.job_id AND o.attempt = c.attempt
        WHERE c.attempt > 0 {cond}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3""",
        params,
    )


def per_sample(con: Engine, f: Filters) -> pa.Table:
    cond, params = where(f, COST_COLUMNS, "AND")
    bcond, bparams = where(f, COST_COLUMNS, "AND")
    return _table(
        con,
        f"""
        WITH est AS (
            SELECT sample_id, max(project) AS project, count(DISTINCT run_id) AS runs,
                   sum(cost_usd) AS estimated_usd,
                   sum(CASE WHEN cost_kind = 'compute' THEN cost_usd END) AS compute_usd,
                   sum(CASE WHEN cost_kind = 'licence' THEN cost_usd END) AS licence_usd,
                   sum(CASE WHEN cost_kind LIKE '%storage%' THEN cost_usd END) AS storage_usd,
                   CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
            FROM cost_lines c WHERE sample_id IS NOT NULL {cond}
            GROUP BY sample_id
        ),
        bil AS (
            SELECT sample_id, sum(cost_usd) AS billed_usd FROM billed_allocated c
            WHERE sample_id IS NOT NULL AND allocation <> 'unused' {bcond}
            GROUP BY sample_id
        )
        SELECT e.sample_id, e.project, e.runs, e.estimated_usd, e.compute_usd, e.licence_usd,
               e.storage_usd, b.billed_usd, e.unpriced_rows
        FROM est e LEFT JOIN bil b ON b.sample_id = e.sample_id
        ORDER BY e.estimated_usd DESC NULLS LAST, e.sample_id""",
        [*params, *bparams],
    )


def assumed_prices(con: Engine, f: Filters) -> pa.Table:
    cond, params = where(f, COST_COLUMNS, "AND")
    return _table(
        con,
        f"""
        SELECT cost_kind, coalesce(price_status, 'unpriced') AS price_status,
               count(*) AS line_count, sum(cost_usd) AS cost_usd,
               count(DISTINCT price_source) AS sources, min(price_source) AS example_source
        FROM cost_lines c
        WHERE (price_status IS NULL OR price_status <> 'list') {cond}
        GROUP BY 1, 2 ORDER BY cost_usd DESC NULLS LAST, 1, 2""",
        params,
    )


def savings(con: Engine, f: Filters) -> pa.Table:
    months = [f"month {op} ?" for op, d in ((">=", f.start), ("<=", f.end)) if d]
    return _table(
        con,
        f"""
        SELECT scenario, month, actual_usd, baseline_usd, saving_usd, unpriced_rows,
               approximate_rows
        FROM savings WHERE true {''.join(' AND ' + m for m in months)}
        ORDER BY scenario, month""",
        [d.isoformat()[:7] for d in (f.start, f.end) if d],
    )


def over_time(con: Engine, f: Filters, grain: Grain = "month", by: str | None = None
              ) -> pa.Table:
    """The Cost page's estimated beside billed per period (and tag), both sides summed from the
    cost rows and the allocated billing lines, as ``cost_trends.over_time`` read billed before
    it read ``billed_monthly``."""
    from analytics.cost_trends import BY
    from analytics.filters import UNTAGGED

    column, tag = _PERIOD[check_grain(grain)], BY[by] if by else None
    period = column.format(c="c.usage_start_at")
    group = f", coalesce(c.{tag}, '{UNTAGGED}')" if tag else ""
    select_group = f"{group} AS grp" if tag else ""
    cond, params = where(f, COST_COLUMNS, "WHERE")
    bcond, bparams = where(f, COST_COLUMNS, "AND")
    on = "e.period = b.period" + (" AND e.grp = b.grp" if tag else "")
    grp = ", coalesce(e.grp, b.grp) AS grp" if tag else ""
    rows = as_engine(con).rows(
        f"""
        SELECT coalesce(e.period, b.period) AS period{grp},
               coalesce(e.usd, 0) AS estimated_usd, coalesce(b.usd, 0) AS billed_usd
        FROM (SELECT {period} AS period{select_group}, sum(c.cost_usd) AS usd
              FROM cost_lines c {cond} GROUP BY {period}{group}) e
        FULL OUTER JOIN (
              SELECT {period} AS period{select_group}, sum(c.cost_usd) AS usd
              FROM billed_allocated c WHERE c.allocation <> 'unused' {bcond}
              GROUP BY {period}{group}) b ON {on}""",
        [*params, *bparams],
    )
    labels = span(f, (r["period"] for r in rows), grain)
    filled = fill(rows, "period", labels, ["grp"] if tag else [],
                  ["estimated_usd", "billed_usd"])
    return pa.Table.from_pylist([
        {"period": r["period"], **({"group": r["grp"]} if tag else {}),
         "estimated_usd": r["estimated_usd"], "billed_usd": r["billed_usd"]} for r in filled])


def untagged_by_service(con: Engine, f: Filters) -> pa.Table:
    """The spend of the ``untagged_spend`` view (billing lines without a project or cost centre)
    summed by month, allocation and service."""
    months = [f"month {op} ?" for op, d in ((">=", f.start), ("<=", f.end)) if d]
    return _table(
        con,
        f"""
        SELECT month, allocation, product_code, CAST(sum(line_count) AS BIGINT) AS line_count,
               sum(cost_usd) AS cost_usd
        FROM untagged_spend WHERE true {''.join(' AND ' + m for m in months)}
        GROUP BY 1, 2, 3 ORDER BY month, cost_usd DESC, product_code, allocation""",
        [d.isoformat()[:7] for d in (f.start, f.end) if d],
    )


# The QC page's answers as it asked the facts before the summaries (``analytics.qc``): every
# failed check, and every gated run's value of every numeric check.
QC_COLUMNS = Columns(time="g.counted_at", project="g.project", cost_centre="g.cost_centre",
                     workflow="g.workflow", release="g.pipeline_release")
_GATE_JOIN = """
        FROM (SELECT g.* FROM qc_gated g {cond}) g
        JOIN qc_results c ON c.run_id = g.run_id AND c.suite = 'sample_qc'
                         AND c.evaluated_at = g.evaluated_at"""


def failed_checks(con: Engine, f: Filters) -> pa.Table:
    cond, params = where(f, QC_COLUMNS, prefix="WHERE")
    return _table(
        con,
        f"""
        SELECT g.sample_id, g.run_id, g.project, g.pipeline_release, c.check_id, c.metric_id,
               coalesce(CAST(round(c.observed_value, 4) AS VARCHAR), c.observed_text) AS value,
               c.threshold, c.severity, c.verdict AS check_verdict, g.verdict AS run_verdict,
               CAST(CAST(g.counted_at AS DATE) AS VARCHAR) AS day
        {_GATE_JOIN.format(cond=cond)}
        WHERE c.check_id <> 'overall' AND NOT c.passed
        ORDER BY CASE c.verdict WHEN 'fail' THEN 0 WHEN 'review' THEN 1 ELSE 2 END,
                 day DESC, g.sample_id, c.check_id""",
        params,
    )


def metric_values(con: Engine, f: Filters) -> list[dict[str, Any]]:
    cond, params = where(f, QC_COLUMNS, prefix="WHERE")
    return as_engine(con).rows(
        f"""
        SELECT g.sample_id, g.run_id, g.project, g.pipeline_release, g.verdict AS run_verdict,
               c.check_id, c.metric_id, c.observed_value AS value, c.threshold, c.severity,
               c.verdict AS check_verdict, c.passed
        {_GATE_JOIN.format(cond=cond)}
        WHERE c.check_id <> 'overall' AND c.observed_value IS NOT NULL
        ORDER BY c.metric_id, c.check_id, g.sample_id, g.run_id""",
        params,
    )


def metric_summary(con: Engine, f: Filters) -> list[dict[str, Any]]:
    """Per month of the runs' counted day, project, release and check: runs, passed and the
    values' min, p10, p50, p90, max (what ``qc_metrics_monthly`` holds), from the facts."""
    cond, params = where(f, QC_COLUMNS, prefix="WHERE")
    return as_engine(con).rows(
        f"""
        SELECT strftime(g.counted_at, '%Y-%m') AS month, g.project, g.pipeline_release,
               c.check_id, c.metric_id, c.threshold, c.severity, count(*) AS runs,
               count(CASE WHEN c.passed THEN 1 END) AS passed,
               min(c.observed_value) AS min_value,
               quantile_cont(c.observed_value, 0.1) AS p10_value,
               quantile_cont(c.observed_value, 0.5) AS p50_value,
               quantile_cont(c.observed_value, 0.9) AS p90_value,
               max(c.observed_value) AS max_value
        {_GATE_JOIN.format(cond=cond)}
        WHERE c.check_id <> 'overall' AND c.observed_value IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        ORDER BY month, c.metric_id, c.check_id, g.project, g.pipeline_release""",
        params,
    )


def metric_bins(con: Engine, f: Filters, bins: int) -> dict[str, list[dict[str, Any]]]:
    """The values of ``metric_values`` binned here, in Python: per run and metric the value and
    the worst outcome of its checks; ``bins`` equal bins from the metric's min to max."""
    rank = {"pass": 0, "review": 1, "fail": 2}
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    rules = set()
    for r in metric_values(con, f):
        rules.add((r["metric_id"], r["check_id"], r["threshold"]))
        outcome = "pass" if r["passed"] else r["check_verdict"]
        seen = runs.setdefault((r["run_id"], r["metric_id"]), {**r, "outcome": "pass"})
        if rank.get(outcome, 0) > rank[seen["outcome"]]:
            seen["outcome"] = outcome
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for (_, m), r in runs.items():
        lo[m] = min(lo.get(m, r["value"]), r["value"])
        hi[m] = max(hi.get(m, r["value"]), r["value"])
    counted: dict[tuple[Any, ...], int] = {}
    for (_, m), r in runs.items():
        i = 0 if hi[m] == lo[m] else min(int((r["value"] - lo[m]) / (hi[m] - lo[m]) * bins),
                                         bins - 1)
        key = (m, r["project"], r["pipeline_release"], r["outcome"], i)
        counted[key] = counted.get(key, 0) + 1
    order = {"pass": 0, "review": 1, "fail": 2}
    return {
        "bins": [{"metric_id": m, "project": p, "pipeline_release": rel, "outcome": o, "i": i,
                  "lo": lo[m], "hi": hi[m], "runs": n}
                 for (m, p, rel, o, i), n in sorted(
                     counted.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "",
                                                      order[kv[0][3]], kv[0][4]))],
        "rules": [{"metric_id": m, "check_id": c, "threshold": t}
                  for m, c, t in sorted(rules, key=lambda x: (x[0], x[1], x[2] or ""))],
    }


TURNAROUND_PARTS = ("waiting_h", "queue_h", "run_h", "qc_h", "turnaround_h")


def turnaround(con: Engine, f: Filters) -> pa.Table:
    """``analytics.runs.turnaround`` before its rollup: per run with a QC verdict, ``week``
    (Monday, of the verdict) and the hours of each part.

    ``waiting_h``: first input arrival to dispatch (waiting for mates and for the sample sheet);
    ``queue_h``: dispatch to the first attempt's start; ``run_h``: that start to the run's end
    (retries included); ``qc_h``: end to the verdict; ``turnaround_h``: arrival (or dispatch when
    no arrival is recorded) to the verdict. Selected by the verdict's day and the run's tags.
    """
    reach = _reach(f)
    cond, params = where(f, RUN_COLUMNS, "AND")
    cond = cond.replace("l.status_at", "q.evaluated_at")
    return as_engine(con).table(
        f"""
        WITH r AS (SELECT * FROM runs WHERE true{reach}),
        l AS (
            SELECT * FROM (
                SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {_LATEST_RUN})
                    AS rn__
                FROM r) WHERE rn__ = 1 AND status IN ('SUCCEEDED', 'FAILED')
        ),
        q AS (
            SELECT run_id, max(evaluated_at) AS evaluated_at FROM qc_results
            WHERE check_id = 'overall' AND suite = 'sample_qc'{reach}
            GROUP BY run_id
        ),
        d AS (SELECT run_id, min(status_at) AS dispatched_at FROM r
              WHERE run_id IN (SELECT run_id FROM q) GROUP BY run_id),
        -- only the attempts of runs with a verdict: a semi-join, not 30 million rows grouped
        s AS (
            SELECT run_id, min(coalesce(started_at, CASE WHEN status = 'RUNNING'
                                                         THEN status_at END)) AS started_at
            FROM job_attempts WHERE run_id IN (SELECT run_id FROM q){reach} GROUP BY run_id
        ),
        arr AS (
            SELECT project, sample_id, min(event_at) AS arrived_at FROM arrivals
            WHERE sample_id IS NOT NULL GROUP BY project, sample_id
        ),
        t AS (
            SELECT l.run_id, q.evaluated_at, d.dispatched_at, l.status_at AS ended_at,
                   s.started_at,
                   CASE WHEN arr.arrived_at <= d.dispatched_at THEN arr.arrived_at
                        ELSE d.dispatched_at END AS arrived_at
            FROM l
            JOIN q ON q.run_id = l.run_id
            JOIN d ON d.run_id = l.run_id
            LEFT JOIN s ON s.run_id = l.run_id
            LEFT JOIN arr ON arr.project = l.project AND arr.sample_id = l.sample_id
            WHERE true {cond}
        )
        SELECT CAST(date_trunc('week', evaluated_at) AS DATE) AS week, run_id,
               date_diff('second', arrived_at, dispatched_at) / 3600.0 AS waiting_h,
               date_diff('second', dispatched_at, coalesce(started_at, ended_at)) / 3600.0
                   AS queue_h,
               date_diff('second', coalesce(started_at, ended_at), ended_at) / 3600.0 AS run_h,
               date_diff('second', ended_at, evaluated_at) / 3600.0 AS qc_h,
               date_diff('second', arrived_at, evaluated_at) / 3600.0 AS turnaround_h
        FROM t ORDER BY week, run_id""",
        params,
    )


def turnaround_weekly(rows: pa.Table) -> list[dict[str, Any]]:
    """``runs.turnaround_weeks`` as it was: per week and part, runs, p10, median, p90 and max
    hours (from ``turnaround`` rows), in Python."""
    import pyarrow.compute as pc

    out: list[dict[str, Any]] = []
    for week in sorted(set(rows.column("week").to_pylist())):
        sub = rows.filter(pc.equal(rows.column("week"), week))
        for part in TURNAROUND_PARTS:
            values = sub.column(part).drop_null()
            if not len(values):
                continue
            p10, p50, p90 = pc.quantile(values, q=[0.1, 0.5, 0.9]).to_pylist()
            out.append({"week": week, "part": part, "runs": len(values), "p10_h": p10,
                        "median_h": p50, "p90_h": p90, "max_h": pc.max(values).as_py()})
    return out
