"""Storage for the Storage page: bytes and monthly cost by S3 storage class and project, and what
the tag-driven archival rules moved and saved.

The lake records storage as estimated cost rows (``costs``, written by
``pipeline_runner.storage.estimate_run_storage``): per run, class and month, ``storage:<CLASS>:
<YYYY-MM>`` in GB-months, ``storage_transition:<CLASS>:<YYYY-MM>`` in thousands of lifecycle
requests and ``storage_early_delete:<CLASS>:<YYYY-MM>`` in GB-months charged for a minimum
duration. A GB-month is the average GiB stored over the calendar month, so the month's average
bytes are GB-months x 2^30. What archival saved is the same GB-months at the S3 Standard price
in effect, less what they cost (transitions and early deletions included), as the savings view
counts it. What is really stored comes from the object inventories (S3 Inventory, or a local
inventory of the output folder) in the ``storage`` table, priced by the ``storage_costs`` view:
``measured`` reads it.
"""

from __future__ import annotations

import pyarrow as pa

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where

GIB = 2**30
COLUMNS = Columns(time="c.usage_start_at", month="c.month", project="c.project",
                  cost_centre="c.cost_centre", workflow="c.workflow",
                  release="c.pipeline_release")
STORAGE_KINDS = "('storage', 'storage_transition', 'storage_early_delete')"
SCRATCH = "EBS_SCRATCH"
MEASURED = Columns(month="month", project="project")


def by_class(con: Engine, f: Filters) -> pa.Table:
    """``month, storage_class, project, gb_months, average_bytes, cost_usd, unpriced_rows``:
    what run outputs occupy and cost per month, S3 storage class and project tag; the jobs'
    scratch volumes (EBS, while they run) are the class ``EBS_SCRATCH``."""
    cond, params = where(f, COLUMNS, "AND")
    return as_engine(con).table(
        f"""
        SELECT c.month,
               CASE WHEN c.cost_kind = 'scratch_storage' THEN '{SCRATCH}'
                    ELSE split_part(c.component, ':', 2) END AS storage_class,
               coalesce(c.project, '(untagged)') AS project,
               sum(c.quantity) AS gb_months,
               CAST(round(sum(c.quantity) * {GIB}) AS BIGINT) AS average_bytes,
               sum(c.cost_usd) AS cost_usd, CAST(sum(c.unpriced_rows) AS BIGINT) AS unpriced_rows
        FROM cost_lines c
        WHERE c.cost_kind IN ('storage', 'scratch_storage') {cond}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
        params,
    )


def archival(con: Engine, f: Filters) -> pa.Table:
    """``month, archived_gb_months, transitions, transition_usd, early_delete_usd, actual_usd,
    baseline_usd, saving_usd, unpriced_rows``: per month, GB-months kept outside S3 Standard,
    objects the lifecycle moved (and the requests' cost), early-deletion charges, what storage
    cost and what all-Standard would have cost (only rows priced on both sides are summed)."""
    cond, params = where(f, COLUMNS, "AND")
    return as_engine(con).table(
        f"""
        WITH std AS (
            SELECT usd, effective_from_at, effective_to_at FROM prices
            WHERE price_kind = 's3-storage' AND item = 'STANDARD'
        ),
        rows AS (
            SELECT c.month, c.cost_kind, split_part(c.component, ':', 2) AS storage_class,
                   c.quantity, c.cost_usd,
                   CASE WHEN c.cost_kind = 'storage' THEN c.quantity * s.usd ELSE 0 END
                       AS baseline_usd
            FROM cost_lines c
            LEFT JOIN std s ON c.usage_start_at >= s.effective_from_at
                           AND (s.effective_to_at IS NULL OR c.usage_start_at < s.effective_to_at)
            WHERE c.cost_kind IN {STORAGE_KINDS} {cond}
        )
        SELECT month,
               coalesce(sum(CASE WHEN cost_kind = 'storage' AND storage_class <> 'STANDARD'
                                 THEN quantity END), 0) AS archived_gb_months,
               CAST(round(coalesce(sum(CASE WHEN cost_kind = 'storage_transition'
                                            THEN quantity * 1000 END), 0)) AS BIGINT)
                   AS transitions,
               coalesce(sum(CASE WHEN cost_kind = 'storage_transition' THEN cost_usd END), 0)
                   AS transition_usd,
               coalesce(sum(CASE WHEN cost_kind = 'storage_early_delete' THEN cost_usd END), 0)
                   AS early_delete_usd,
               sum(CASE WHEN baseline_usd IS NOT NULL THEN cost_usd END) AS actual_usd,
               sum(CASE WHEN cost_usd IS NOT NULL THEN baseline_usd END) AS baseline_usd,
               sum(CASE WHEN cost_usd IS NOT NULL THEN baseline_usd END)
                   - sum(CASE WHEN baseline_usd IS NOT NULL THEN cost_usd END) AS saving_usd,
               count(CASE WHEN cost_usd IS NULL OR baseline_usd IS NULL THEN 1 END)
                   AS unpriced_rows
        FROM rows GROUP BY month ORDER BY month""",
        params,
    )


def measured(con: Engine, f: Filters) -> pa.Table:
    """``month, storage_class, project, inventories, gb_months, cost_usd, standard_cost_usd,
    saving_usd, unpriced_rows``: what the inventories listed, per month, class and project, priced
    at the class's price and at S3 Standard's (the realized archival saving is the difference).

    Only the month and project filters apply (an inventory row has no workflow or release)."""
    cond, params = where(f, MEASURED, "WHERE")
    return as_engine(con).table(
        f"""
        SELECT month, storage_class, coalesce(project, '(untagged)') AS project,
               CAST(max(inventories) AS BIGINT) AS inventories,
               sum(gb_months) AS gb_months, sum(cost_usd) AS cost_usd,
               sum(standard_cost_usd) AS standard_cost_usd,
               sum(standard_cost_usd) - sum(cost_usd) AS saving_usd,
               CAST(sum(unpriced_rows) AS BIGINT) AS unpriced_rows
        FROM storage_costs {cond}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
        params,
    )
