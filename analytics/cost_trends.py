"""Cost over time for the Cost page: estimated beside billed per day or month, by any tag, by
component with the prices that are assumptions, per sample, and the savings, reconciliation and
untagged spend of the months the filters select.

Estimated and billed cost over time read the monthly rollups (``costs_monthly``,
``billed_monthly``) per month of a range of whole months (or open), else the daily ones
(``costs_daily``, ``billed_daily``). Cost per sample reads the per-sample rollup
(``sample_costs``) when the date range is whole months; for a range that cuts a month, it and
the components read the cost rows (``cost_lines``) of the months it touches.
Billed cost is the allocated spend (``billed_allocated``: split rows and plain lines; unused
instance capacity left out, as ``analytics.cost.cost_by`` counts it). The savings,
reconciliation and untagged views are monthly: they take the range's months, and the
reconciliation the projects too.

Money is USD. Every function takes an ``Engine`` and a ``Filters`` and returns an Arrow table,
empty on an empty lake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pyarrow as pa

from analytics.cost_rollups import RECONCILE_MONTHS
from analytics.engine import Engine, as_engine
from analytics.filters import UNTAGGED, Columns, Filters, where
from analytics.periods import Grain, check_grain, fill, span

# The tags cost can be split by (the Cost page's selector) and their column in the cost views.
BY = {"project": "project", "requested_by": "requested_by", "cost_centre": "cost_centre",
      "workflow": "workflow", "release": "pipeline_release"}
ROLLUP_COLUMNS = Columns(time="month_at", month="month", project="project",
                         cost_centre="cost_centre", workflow="workflow",
                         release="pipeline_release")
DAY_COLUMNS = Columns(time="day_at", month="month", project="project", cost_centre="cost_centre",
                      workflow="workflow", release="pipeline_release")
LINE_COLUMNS = Columns(time="usage_start_at", month="month", project="project",
                       cost_centre="cost_centre", workflow="workflow", release="pipeline_release")
SAMPLE_COLUMNS = Columns(time="month_at", month="month", project="project",
                         cost_centre="cost_centre", workflow="workflow",
                         release="pipeline_release")
BILLED_COLUMNS = LINE_COLUMNS  # billed_allocated carries the same tag columns
_PERIOD = {"day": "strftime({c}, '%Y-%m-%d')", "month": "strftime({c}, '%Y-%m')"}
# Prices nobody quoted: approximate (a derived or dated figure) or assumed (no source at all).
ASSUMED = ("approximate", "assumed")


def whole_months(f: Filters) -> bool:
    """True when the date range starts on a 1st and ends on a month's last day (or is open)."""
    return (f.start is None or f.start.day == 1) and (
        f.end is None or (f.end + timedelta(days=1)).day == 1)


def _by(by: str | None) -> str | None:
    if by is None:
        return None
    try:
        return BY[by]
    except KeyError:
        raise ValueError(f"cannot split cost by {by!r}: one of {', '.join(BY)}") from None


def _rows(con: Engine, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return as_engine(con).rows(sql, list(params))


def over_time(con: Engine, f: Filters, grain: Grain = "month", by: str | None = None
              ) -> pa.Table:
    """``period, [group,] estimated_usd, billed_usd``: per day or month of usage, optionally per
    value of the tag ``by`` (``(untagged)`` for rows without it); every period of the range is
    there, zeros included."""
    column, tag = _PERIOD[check_grain(grain)], _by(by)
    group = f", coalesce({tag}, '{UNTAGGED}')" if tag else ""
    select_group = f"{group} AS grp" if tag else ""
    # Whole months per month: both sides from their monthly rollups, whose month_at is the
    # month of usage_start_at, so the range and the grouping select the same rows as the facts.
    # Otherwise from the daily ones (a date range is whole days): thousands of rows a month, not
    # the millions of cost and billed rows (85 s a year per day on the seed's scale).
    if grain == "month" and whole_months(f):
        est_from, bil_from, cols, billed = ("costs_monthly", "billed_monthly", ROLLUP_COLUMNS,
                                            "allocation <> 'unused'")
    else:  # the daily billed rollup leaves unused capacity out already
        est_from, bil_from, cols, billed = "costs_daily", "billed_daily", DAY_COLUMNS, "true"
    period = column.format(c=cols.time)
    cond, params = where(f, cols, "WHERE")
    est = (f"SELECT {period} AS period{select_group}, sum(cost_usd) AS usd "
           f"FROM {est_from} {cond} GROUP BY {period}{group}")
    bcond, bparams = where(f, cols, "AND")
    bil = (f"SELECT {period} AS period{select_group}, sum(cost_usd) AS usd "
           f"FROM {bil_from} WHERE {billed} {bcond} "
           f"GROUP BY {period}{group}")
    on = "e.period = b.period" + (" AND e.grp = b.grp" if tag else "")
    grp = ", coalesce(e.grp, b.grp) AS grp" if tag else ""
    rows = _rows(
        con,
        f"""
        SELECT coalesce(e.period, b.period) AS period{grp},
               coalesce(e.usd, 0) AS estimated_usd, coalesce(b.usd, 0) AS billed_usd
        FROM ({est}) e FULL OUTER JOIN ({bil}) b ON {on}""",
        [*params, *bparams],
    )
    labels = span(f, (r["period"] for r in rows), grain)
    groups = ["grp"] if tag else []
    filled = fill(rows, "period", labels, groups, ["estimated_usd", "billed_usd"])
    if tag:
        filled = [{"period": r["period"], "group": r["grp"], "estimated_usd": r["estimated_usd"],
                   "billed_usd": r["billed_usd"]} for r in filled]
    fields = [("period", pa.string())] + ([("group", pa.string())] if tag else []) + [
        ("estimated_usd", pa.float64()), ("billed_usd", pa.float64())]
    return pa.Table.from_pylist(filled, schema=pa.schema(fields))


def by_component(con: Engine, f: Filters) -> pa.Table:
    """``month, cost_kind, price_status, cost_usd, line_count, unpriced_rows``: estimated cost per
    month of usage and kind (compute, licence, scratch_storage, storage, …) and price status
    (list, approximate, assumed, unpriced)."""
    kind = "split_part(component, ':', 1)"
    if whole_months(f):
        cond, params = where(f, ROLLUP_COLUMNS, "WHERE")
        sql = f"""
            SELECT month, {kind} AS cost_kind, coalesce(price_status, 'unpriced') AS price_status,
                   sum(cost_usd) AS cost_usd, CAST(sum(line_count) AS BIGINT) AS line_count,
                   CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
            FROM costs_monthly {cond} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    else:
        cond, params = where(f, LINE_COLUMNS, "WHERE")
        sql = f"""
            SELECT month, cost_kind, coalesce(price_status, 'unpriced') AS price_status,
                   sum(cost_usd) AS cost_usd, count(*) AS line_count,
                   CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
            FROM cost_lines {cond} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    return as_engine(con).table(sql, params)


def assumed_prices(con: Engine, f: Filters) -> pa.Table:
    """``cost_kind, price_status, line_count, cost_usd, sources, example_source``: estimated cost
    priced with what is not a list price (approximate, assumed) or not priced at all. Whole
    months (or an open range) read the rollup ``cost_prices``; other ranges the cost rows."""
    if whole_months(f):
        cond, params = where(f, SAMPLE_COLUMNS, "AND")
        sql = f"""
            SELECT cost_kind, price_status, CAST(sum(line_count) AS BIGINT) AS line_count,
                   sum(cost_usd) AS cost_usd, count(DISTINCT price_source) AS sources,
                   min(price_source) AS example_source
            FROM cost_prices WHERE price_status IS NOT NULL {cond}
            GROUP BY 1, 2 ORDER BY cost_usd DESC NULLS LAST, 1, 2"""
    else:
        cond, params = where(f, LINE_COLUMNS, "AND")
        sql = f"""
            SELECT cost_kind, coalesce(price_status, 'unpriced') AS price_status,
                   count(*) AS line_count, sum(cost_usd) AS cost_usd,
                   count(DISTINCT price_source) AS sources, min(price_source) AS example_source
            FROM cost_lines
            WHERE (price_status IS NULL OR price_status <> 'list') {cond}
            GROUP BY 1, 2 ORDER BY cost_usd DESC NULLS LAST, 1, 2"""
    return as_engine(con).table(sql, params)


def per_sample(con: Engine, f: Filters, billed: bool = True) -> pa.Table:
    """``sample_id, project, runs, estimated_usd, compute_usd, licence_usd, storage_usd,
    billed_usd, unpriced_rows``: one row per sample with cost in the selection, costliest first.

    Whole months (or an open range) read the per-sample rollup (``sample_costs``); a range that
    cuts a month reads the cost rows of the months it touches. Billed cost per sample has no
    rollup: it reads every allocated billing line of the selection (minutes on a year of
    billing), so ``billed=False`` leaves ``billed_usd`` null and the billing unread."""
    kind = "cost_kind"
    if whole_months(f):
        cond, params = where(f, SAMPLE_COLUMNS, "AND")
        est = f"""
            SELECT sample_id, max(project) AS project, count(DISTINCT run_id) AS runs,
                   sum(estimated_usd) AS estimated_usd, sum(compute_usd) AS compute_usd,
                   sum(licence_usd) AS licence_usd, sum(storage_usd) AS storage_usd,
                   CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
            FROM sample_costs WHERE sample_id IS NOT NULL {cond}
            GROUP BY sample_id"""
    else:
        cond, params = where(f, LINE_COLUMNS, "AND")
        est = f"""
            SELECT sample_id, max(project) AS project, count(DISTINCT run_id) AS runs,
                   sum(cost_usd) AS estimated_usd,
                   sum(CASE WHEN {kind} = 'compute' THEN cost_usd END) AS compute_usd,
                   sum(CASE WHEN {kind} = 'licence' THEN cost_usd END) AS licence_usd,
                   sum(CASE WHEN {kind} LIKE '%storage%' THEN cost_usd END) AS storage_usd,
                   CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
            FROM cost_lines WHERE sample_id IS NOT NULL {cond}
            GROUP BY sample_id"""
    if not billed:
        return as_engine(con).table(
            f"""
            SELECT sample_id, project, runs, estimated_usd, compute_usd, licence_usd,
                   storage_usd, CAST(NULL AS DOUBLE) AS billed_usd, unpriced_rows
            FROM ({est}) e ORDER BY estimated_usd DESC NULLS LAST, sample_id""",
            params,
        )
    bcond, bparams = where(f, BILLED_COLUMNS, "AND")
    return as_engine(con).table(
        f"""
        WITH est AS ({est}),
        bil AS (
            SELECT sample_id, sum(cost_usd) AS billed_usd FROM billed_allocated
            WHERE sample_id IS NOT NULL AND allocation <> 'unused' {bcond}
            GROUP BY sample_id
        )
        SELECT e.sample_id, e.project, e.runs, e.estimated_usd, e.compute_usd, e.licence_usd,
               e.storage_usd, b.billed_usd, e.unpriced_rows
        FROM est e LEFT JOIN bil b ON b.sample_id = e.sample_id
        ORDER BY e.estimated_usd DESC NULLS LAST, e.sample_id""",
        [*params, *bparams],
    )


def _month_range(f: Filters, column: str = "month") -> tuple[str, list[Any]]:
    """``AND month >= ? AND month <= ?`` for the months the range touches (a monthly view)."""
    parts, params = [], []
    if f.start:
        parts.append(f"{column} >= ?")
        params.append(f.start.isoformat()[:7])
    if f.end:
        parts.append(f"{column} <= ?")
        params.append(f.end.isoformat()[:7])
    return "".join(f" AND {p}" for p in parts), params


def savings(con: Engine, f: Filters) -> pa.Table:
    """``scenario, month, actual_usd, baseline_usd, saving_usd, unpriced_rows, approximate_rows``
    from the savings view (Spot against On-Demand, archival against all-Standard) through its
    monthly rollup (``savings_monthly``), for the months the range touches (no tags)."""
    cond, params = _month_range(f)
    return as_engine(con).table(
        f"""
        SELECT scenario, month, actual_usd, baseline_usd, saving_usd, unpriced_rows,
               approximate_rows
        FROM savings_monthly WHERE scenario IS NOT NULL {cond} ORDER BY scenario, month""",
        params,
    )


# The automation's Lambda: memory and mean run time per event (``seqledger report automation``'s
# defaults, ``pipeline_runner.cost.AutomationVolume``): assumptions, not measured.
LAMBDA_MEMORY_MB = 256
LAMBDA_AVG_MS = 200.0
AUTOMATION_REGION = "us-east-1"


def automation(con: Engine, f: Filters, region: str = AUTOMATION_REGION) -> pa.Table:
    """``month, item, quantity, unit, rate_usd, cost_usd, price_status, job_events,
    object_events``: what the S3 → SNS → Lambda and EventBridge → Lambda automation cost per
    month, from the events the lake recorded (each Batch state change of ``job_attempts`` an
    EventBridge event and a Lambda run; each object of ``arrivals`` an SNS publish and a Lambda
    run), priced with the lake's service prices in effect that month (``seqledger report
    automation`` prices assumed volumes the same way). Free tiers are not subtracted; the
    Lambda's memory and run time are assumptions, so every line is at best ``approximate``.
    The months of the range; no tags (the automation serves every project)."""
    cond, params = _month_range(f)
    gb_s = f"{LAMBDA_MEMORY_MB} / 1024.0 * {LAMBDA_AVG_MS} / 1000.0"
    return as_engine(con).table(
        f"""
        WITH events AS (
            SELECT month, count(*) AS job_events, 0 AS object_events
            FROM job_attempts WHERE true {cond} GROUP BY month
            UNION ALL
            SELECT month, 0, count(*) FROM arrivals WHERE true {cond} GROUP BY month
        ),
        v AS (
            SELECT month, sum(job_events) AS job_events, sum(object_events) AS object_events
            FROM events GROUP BY month
        ),
        items AS (
            SELECT month, 'lambda-requests' AS item,
                   CAST(job_events + object_events AS DOUBLE) / 1e6 AS quantity FROM v
            UNION ALL SELECT month, 'lambda-duration', (job_events + object_events) * {gb_s}
            FROM v
            UNION ALL SELECT month, 'sns-publish', CAST(object_events AS DOUBLE) / 1e6 FROM v
            UNION ALL SELECT month, 'sns-lambda-delivery', CAST(object_events AS DOUBLE) / 1e6
            FROM v
            UNION ALL SELECT month, 'eventbridge-aws-event', CAST(job_events AS DOUBLE) / 1e6
            FROM v
        ),
        priced AS (
            SELECT i.month, i.item, i.quantity, p.unit, p.usd, p.price_status,
                   row_number() OVER (PARTITION BY i.month, i.item
                                      ORDER BY p.effective_from_at DESC) AS rn__
            FROM items i
            LEFT JOIN prices p
                   ON p.price_kind = 'service' AND p.item = i.item AND p.region = ?
                  AND p.month <= i.month  -- took effect by the month's end (its partition)
        )
        SELECT p.month, p.item, p.quantity, p.unit, p.usd AS rate_usd,
               p.quantity * p.usd AS cost_usd,
               CASE WHEN p.usd IS NULL THEN 'unpriced'
                    WHEN p.price_status = 'assumed' THEN 'assumed'
                    ELSE 'approximate' END AS price_status,
               CAST(v.job_events AS BIGINT) AS job_events,
               CAST(v.object_events AS BIGINT) AS object_events
        FROM priced p JOIN v ON v.month = p.month
        WHERE p.rn__ = 1
        ORDER BY p.month, p.item""",
        [*params, *params, region],
    )


def reconciliation(con: Engine, f: Filters) -> pa.Table:
    """``month, project, estimated_usd, billed_usd, residual_usd, residual_share,
    unused_capacity_usd, untagged_usd``: estimated against billed per month and project."""
    cond, params = _month_range(f)
    if f.project:
        named = [UNTAGGED if p is None else p for p in f.project]
        cond += f" AND project IN ({', '.join('?' * len(named))})"
        params += named
    return as_engine(con).table(
        f"""
        SELECT month, project, estimated_usd, billed_usd, residual_usd, residual_share,
               unused_capacity_usd, untagged_usd
        FROM ({RECONCILE_MONTHS}) r WHERE true {cond} ORDER BY month, project""",
        params,
    )


def untagged(con: Engine, f: Filters) -> pa.Table:
    """``month, tag_status, allocation, product_code, usage_type, line_count, cost_usd``: billed
    spend that cannot be charged back (no tags, or no project or cost centre), largest first."""
    cond, params = _month_range(f)
    return as_engine(con).table(
        f"""
        SELECT month, tag_status, allocation, product_code, usage_type, line_count, cost_usd
        FROM untagged_spend WHERE true {cond}
        ORDER BY month, cost_usd DESC, product_code, usage_type""",
        params,
    )


def untagged_by_service(con: Engine, f: Filters) -> pa.Table:
    """``month, allocation, product_code, line_count, cost_usd``: the spend ``untagged`` lists,
    by month, allocation and service only, from the billed rollup (``billed_monthly``), which
    keeps project and cost centre but neither usage type nor sample and run (so not the tag
    status): the same dollars, without reading the billing lines."""
    cond, params = _month_range(f)
    return as_engine(con).table(
        f"""
        SELECT month, allocation, product_code, CAST(sum(line_count) AS BIGINT) AS line_count,
               sum(cost_usd) AS cost_usd
        FROM billed_monthly WHERE (project IS NULL OR cost_centre IS NULL) {cond}
        GROUP BY 1, 2, 3 ORDER BY month, cost_usd DESC, product_code, allocation""",
        params,
    )


def distribution(values: Sequence[float | None]) -> dict[str, float | None]:
    """Median, 90th percentile and mean of per-sample costs (nearest rank; None when empty)."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"median": None, "p90": None, "mean": None}

    def rank(q: float) -> float:
        return xs[max(0, -(-int(q * 100) * len(xs) // 100) - 1)]

    return {"median": rank(0.5), "p90": rank(0.9), "mean": sum(xs) / len(xs)}

