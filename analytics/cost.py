"""Typed cost queries over the cost views (``analytics/sql/40_*``…``49_*``): CLI and dashboards.

Estimated cost by tags, month and component, and the monthly trend, read the monthly cost rollup
(``costs_monthly``); grouping by sample or run, and the billed side, read the facts.

Each function takes an ``analytics.engine.Engine`` (or a DuckDB connection from
``analytics.engine.connect``) and returns a list of dicts
(one per row, columns as named in the view). They all work on an empty lake. Money is USD;
``approximate_rows`` counts rows priced with an approximate price and ``unpriced_rows`` rows whose
price was missing (cost NULL, never counted as zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.engine import Engine, as_engine
from lake.errors import ConfigError
from lake.schemas import TAG_COLUMNS

NONE = "(none)"  # the group of rows without a value for a grouping column

# Columns `cost_by` can group estimated costs by, and those the billed side has too.
ESTIMATE_GROUPS = (
    *TAG_COLUMNS,
    "month",
    "cost_kind",
    "component",
    "capacity",
    "instance_type",
    "price_status",
)
BILLED_GROUPS = (*TAG_COLUMNS, "month", "capacity", "instance_type")
# What the monthly cost rollup (``costs_monthly``) can answer: every group but sample and run.
ROLLUP_GROUPS = tuple(g for g in ESTIMATE_GROUPS if g not in ("sample_id", "run_id"))
COSTS_DAILY = "SELECT *, split_part(component, ':', 1) AS cost_kind FROM costs_monthly"


def _rows(con: Engine, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return as_engine(con).rows(sql, list(params))


def _check_month(month: str | None) -> None:
    if month is not None and (
        len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit()
    ):
        raise ConfigError(f"month {month!r}: expected YYYY-MM")


# What people say for a tag: "user" is the requester, "centre"/"center" the cost centre.
ALIASES = {
    "user": "requested_by",
    "cost_center": "cost_centre",
    "sample": "sample_id",
    "run": "run_id",
    "release": "pipeline_release",
}


def cost_by(
    con: Engine, by: Sequence[str], month: str | None = None
) -> list[dict[str, Any]]:
    """Estimated and billed cost grouped by ``by`` (tags, month, …), optionally for one month.

    Billed is the allocated spend (split rows, plain lines; unused capacity is excluded and shown
    by ``reconcile``). It is None when a grouping column does not exist on the billed side
    (e.g. ``cost_kind``). Groups missing a value are shown as ``(none)``.
    """
    by = [ALIASES.get(b.strip(), b.strip()) for b in by if b.strip()]
    if not by:
        raise ConfigError("give at least one column to group by")
    bad = [b for b in by if b not in ESTIMATE_GROUPS]
    if bad:
        raise ConfigError(f"cannot group cost by {bad}; choose from {', '.join(ESTIMATE_GROUPS)}")
    _check_month(month)
    keys = ", ".join(f"coalesce(CAST({b} AS VARCHAR), '{NONE}') AS {b}" for b in by)
    groups = ", ".join(f"coalesce(CAST({b} AS VARCHAR), '{NONE}')" for b in by)
    where = "WHERE month = ?" if month else ""
    params = [month] if month else []
    if all(b in ROLLUP_GROUPS for b in by):  # the daily rollup has every column asked for
        est = (
            f"SELECT {keys}, sum(cost_usd) AS estimated_usd, "
            f"CAST(sum(line_count) AS BIGINT) AS line_count, "
            f"CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows, "
            f"CAST(sum(approximate_rows) AS BIGINT) AS approximate_rows "
            f"FROM ({COSTS_DAILY}) c {where} GROUP BY {groups}"
        )
    else:  # by sample or run: the cost rows themselves
        est = (
            f"SELECT {keys}, sum(cost_usd) AS estimated_usd, count(*) AS line_count, "
            f"sum(unpriced_rows) AS unpriced_rows, sum(approximate_rows) AS approximate_rows "
            f"FROM cost_lines {where} GROUP BY {groups}"
        )
    cols = ", ".join(by)
    if all(b in BILLED_GROUPS for b in by):
        bwhere = "WHERE allocation <> 'unused'" + (" AND month = ?" if month else "")
        bil = (
            f"SELECT {keys}, sum(cost_usd) AS billed_usd FROM billed_allocated {bwhere} "
            f"GROUP BY {groups}"
        )
        on = " AND ".join(f"e.{b} = b.{b}" for b in by)
        sel = ", ".join(f"coalesce(e.{b}, b.{b}) AS {b}" for b in by)
        sql = (
            f"SELECT {sel}, e.estimated_usd, b.billed_usd, "
            f"coalesce(e.line_count, 0) AS line_count, "
            f"coalesce(e.unpriced_rows, 0) AS unpriced_rows, "
            f"coalesce(e.approximate_rows, 0) AS approximate_rows "
            f"FROM ({est}) e FULL OUTER JOIN ({bil}) b ON {on} ORDER BY {cols}"
        )
        params = params + params
    else:
        sql = (
            f"SELECT {cols}, estimated_usd, CAST(NULL AS DOUBLE) AS billed_usd, line_count, "
            f"unpriced_rows, approximate_rows FROM ({est}) e ORDER BY {cols}"
        )
    return _rows(con, sql, params)


def cost_trend(con: Engine, project: str | None = None) -> list[dict[str, Any]]:
    """Estimated cost by month (and kind), optionally for one project: the monthly trend."""
    where, params = ("WHERE project = ?", [project]) if project else ("", [])
    return _rows(
        con,
        f"""
        SELECT month, cost_kind, sum(cost_usd) AS estimated_usd,
               CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows,
               CAST(sum(approximate_rows) AS BIGINT) AS approximate_rows
        FROM ({COSTS_DAILY}) c {where} GROUP BY month, cost_kind ORDER BY month, cost_kind""",
        params,
    )


def cost_per_sample(
    con: Engine, project: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Cost per sample and per gigabase (estimated and billed), costliest first."""
    where, params = ("WHERE project = ?", [project]) if project else ("", [])
    lim = f" LIMIT {int(limit)}" if limit else ""
    return _rows(
        con,
        f"SELECT * FROM cost_per_sample {where} "
        f"ORDER BY estimated_usd DESC NULLS LAST, sample_id{lim}",
        params,
    )


STORAGE_GROUPS = ("month", "project", "sample_id", "storage_class", "inventory_source")


def storage_costs(con: Engine, by: Sequence[str] = ("month", "project", "storage_class"),
                  project: str | None = None) -> list[dict[str, Any]]:
    """Storage measured by inventory, priced (view storage_costs), grouped by ``by``: GB-months,
    cost, the all-Standard baseline and the realized archival saving."""
    bad = [c for c in by if c not in STORAGE_GROUPS]
    if bad or not by:
        raise ValueError(f"cannot group storage by {bad or 'nothing'}; "
                         f"choose from {', '.join(STORAGE_GROUPS)}")
    cols = ", ".join(by)
    where, params = ("WHERE project = ?", [project]) if project else ("", [])
    return _rows(
        con,
        f"""
        SELECT {cols}, sum(gb_months) AS gb_months, sum(cost_usd) AS cost_usd,
               sum(standard_cost_usd) AS standard_cost_usd,
               sum(standard_cost_usd) - sum(cost_usd) AS saving_usd,
               sum(unpriced_rows) AS unpriced_rows, sum(approximate_rows) AS approximate_rows
        FROM storage_costs {where} GROUP BY {cols} ORDER BY {cols}""",
        params,
    )


def savings(con: Engine, by_month: bool = False) -> list[dict[str, Any]]:
    """Spot against On-Demand and archival against all-Standard: actual, baseline and saving."""
    month = "month, " if by_month else ""
    return _rows(
        con,
        f"""
        SELECT scenario, {month}sum(actual_usd) AS actual_usd, sum(baseline_usd) AS baseline_usd,
               sum(saving_usd) AS saving_usd,
               sum(saving_usd) / nullif(sum(baseline_usd), 0) AS saving_share,
               sum(line_count) AS line_count, sum(unpriced_rows) AS unpriced_rows,
               sum(approximate_rows) AS approximate_rows
        FROM savings GROUP BY scenario{", month" if by_month else ""}
        ORDER BY scenario{", month" if by_month else ""}""",
    )


def reconcile(con: Engine, month: str | None = None) -> list[dict[str, Any]]:
    """Estimated against billed per month and project (residual, unused capacity, untagged)."""
    _check_month(month)
    where, params = ("WHERE month = ?", [month]) if month else ("", [])
    from analytics.cost_rollups import RECONCILE_MONTHS

    return _rows(con, f"SELECT * FROM ({RECONCILE_MONTHS}) r {where} ORDER BY month, project",
                 params)


def reconcile_attempts(
    con: Engine,
    month: str | None = None,
    min_residual_share: float | None = None,
) -> list[dict[str, Any]]:
    """Estimated against billed compute per attempt; optionally only residuals beyond a share."""
    _check_month(month)
    conds, params = [], []
    if month:
        conds.append("month = ?")
        params.append(month)
    if min_residual_share is not None:
        conds.append("(abs(residual_share) >= ? OR billed_compute_usd IS NULL)")
        params.append(min_residual_share)
    where = f"WHERE {' AND '.join(conds)}" if conds else ""
    return _rows(
        con,
        f"SELECT * FROM reconcile_attempts {where} ORDER BY started_at, job_id, attempt",
        params,
    )


def untagged_spend(
    con: Engine, month: str | None = None
) -> list[dict[str, Any]]:
    """Billed spend without a project (or cost centre) tag, largest first."""
    _check_month(month)
    where, params = ("WHERE month = ?", [month]) if month else ("", [])
    return _rows(
        con,
        f"""
        SELECT month, tag_status, product_code, sum(cost_usd) AS cost_usd,
               sum(line_count) AS line_count
        FROM untagged_spend {where}
        GROUP BY month, tag_status, product_code
        ORDER BY month, cost_usd DESC, product_code""",
        params,
    )


@dataclass(frozen=True, slots=True)
class CostTotals:
    """Headline figures of the cost views."""

    estimated_usd: float
    billed_usd: float
    unpriced_rows: int
    approximate_rows: int
    untagged_usd: float
    unused_capacity_usd: float


def totals(con: Engine, month: str | None = None) -> CostTotals:
    """Totals of estimated and billed cost, unpriced and approximate rows, untagged and unused."""
    rows = reconcile(con, month)
    return CostTotals(
        estimated_usd=sum(r["estimated_usd"] or 0 for r in rows),
        billed_usd=sum(r["billed_usd"] or 0 for r in rows),
        unpriced_rows=int(sum(r["unpriced_rows"] or 0 for r in rows)),
        approximate_rows=int(sum(r["approximate_rows"] or 0 for r in rows)),
        untagged_usd=sum(r["untagged_usd"] or 0 for r in rows),
        unused_capacity_usd=sum(r["unused_capacity_usd"] or 0 for r in rows),
    )
