"""The SQL of the per-sample cost rollup the Cost page reads (``analytics.rollups`` runs it).

``rollup_sample_costs_monthly``: estimated cost per month of usage, sample and run, by the tags
the page filters on and split into compute, licence and storage, so the page's cost-per-sample
distribution sums a few rows per sample instead of every cost row. Runs are kept per row, so a
sample's distinct runs stay exact over months. A month with cost rows but none naming a sample
keeps one row of zeros with a null sample (``analytics.failure_rollups.nothing`` says why).
"""

from __future__ import annotations

from analytics.failure_rollups import nothing

_KIND = "split_part(component, ':', 1)"


def _sum(x: str) -> str:
    """A sum of money in a fixed order: the same rows give the same bits, so a recomputed month
    is the same file (a refresh that changes nothing writes nothing)."""
    return f"sum({x} ORDER BY {x})"

SAMPLE_COSTS = f"""
    SELECT date_trunc('month', usage_start_at) AS month_at, sample_id, run_id, project,
           cost_centre, workflow, pipeline_release, {_sum("cost_usd")} AS estimated_usd,
           {_sum(f"CASE WHEN {_KIND} = 'compute' THEN cost_usd END")} AS compute_usd,
           {_sum(f"CASE WHEN {_KIND} = 'licence' THEN cost_usd END")} AS licence_usd,
           {_sum(f"CASE WHEN {_KIND} LIKE '%storage%' THEN cost_usd END")} AS storage_usd,
           count(CASE WHEN cost_usd IS NULL THEN 1 END) AS unpriced_rows
    FROM {{p}}costs
    WHERE sample_id IS NOT NULL AND month IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    {nothing("NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0", "month_at")}"""

# ``cost_trends.assumed_prices``: cost rows not at a list price, by month, tags, kind, price
# status and source (a handful of sources: the distinct count over months stays exact).
PRICE_SOURCES = f"""
    SELECT date_trunc('month', usage_start_at) AS month_at, project, cost_centre, workflow,
           pipeline_release, {_KIND} AS cost_kind,
           coalesce(price_status, 'unpriced') AS price_status, price_source,
           count(*) AS line_count, {_sum("cost_usd")} AS cost_usd
    FROM {{p}}costs
    WHERE (price_status IS NULL OR price_status <> 'list') AND month IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    {nothing("NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL", "month_at")}"""

# The ``savings`` view's rows of a month (it has no tags), month by month; its sums (in no fixed
# order) rounded to a billionth of a dollar so a recomputed month is the same file.
SAVINGS = f"""
    SELECT CAST(month || '-01' AS TIMESTAMPTZ) AS month_at, scenario,
           round(actual_usd, 9) AS actual_usd, round(baseline_usd, 9) AS baseline_usd,
           round(saving_usd, 9) AS saving_usd, line_count, unpriced_rows, approximate_rows
    FROM savings
    WHERE month IN ({{target}})
    {nothing("NULL, NULL, NULL, NULL, 0, 0, 0", "month_at")}"""


# The Cost page per day (``cost_trends.over_time``): estimated and allocated billed spend per day
# of usage by the tags it filters and splits on; sums in a fixed order (see ``_sum``).
_DAY_TAGS = "project, workflow, pipeline_release, requested_by, cost_centre"
COSTS_DAILY = f"""
    SELECT date_trunc('day', usage_start_at) AS day_at, {_DAY_TAGS},
           {_sum("cost_usd")} AS cost_usd, count(*) AS line_count
    FROM {{p}}costs
    WHERE month IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6"""
BILLED_DAILY = f"""
    SELECT date_trunc('day', usage_start_at) AS day_at, {_DAY_TAGS},
           {_sum("cost_usd")} AS cost_usd, count(*) AS line_count
    FROM {{p}}billed_allocated
    WHERE month IN ({{target}}) AND allocation <> 'unused'
    GROUP BY 1, 2, 3, 4, 5, 6"""


# ``reconcile_months`` (analytics/sql) asked of the monthly rollups of costs and of billed_allocated
# (``costs_monthly``, ``billed_monthly``): the same rows from thousands of rows, not millions.
# Approximate rows count assumed prices too, as ``cost_lines`` does. A query, not a view of
# analytics/sql: those are made before the rollup views (one of which summarises ``savings``).
RECONCILE_MONTHS = """
    WITH est AS (
        SELECT month, coalesce(project, '(untagged)') AS project,
               sum(cost_usd) AS estimated_usd, sum(unpriced_rows) AS unpriced_rows,
               sum(approximate_rows)
                   + sum(CASE WHEN price_status = 'assumed' THEN line_count ELSE 0 END)
                   AS approximate_rows
        FROM costs_monthly
        GROUP BY month, coalesce(project, '(untagged)')
    ),
    bil AS (
        SELECT month, coalesce(project, '(untagged)') AS project,
               sum(CASE WHEN allocation <> 'unused' THEN cost_usd ELSE 0 END) AS billed_usd,
               sum(CASE WHEN allocation = 'unused' THEN cost_usd ELSE 0 END)
                   AS unused_capacity_usd
        FROM billed_monthly
        GROUP BY month, coalesce(project, '(untagged)')
    )
    SELECT coalesce(e.month, b.month) AS month,
           coalesce(e.project, b.project) AS project,
           coalesce(e.estimated_usd, 0) AS estimated_usd,
           coalesce(b.billed_usd, 0) AS billed_usd,
           coalesce(b.billed_usd, 0) - coalesce(e.estimated_usd, 0) AS residual_usd,
           (coalesce(b.billed_usd, 0) - coalesce(e.estimated_usd, 0)) / nullif(b.billed_usd, 0)
               AS residual_share,
           coalesce(b.unused_capacity_usd, 0) AS unused_capacity_usd,
           CASE WHEN coalesce(e.project, b.project) = '(untagged)' THEN coalesce(b.billed_usd, 0)
                ELSE 0 END AS untagged_usd,
           coalesce(e.unpriced_rows, 0) AS unpriced_rows,
           coalesce(e.approximate_rows, 0) AS approximate_rows
    FROM est e
    FULL OUTER JOIN bil b ON b.month = e.month AND b.project = e.project"""
