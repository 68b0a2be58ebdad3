-- Estimated against billed per month and project: the residual and its share of billed, unused
-- instance capacity (split rows' leftovers) and untagged spend (billed without a project tag).
WITH est AS (
    SELECT month, coalesce(project, '(untagged)') AS project,
           sum(cost_usd) AS estimated_usd,
           sum(unpriced_rows) AS unpriced_rows,
           sum(approximate_rows) AS approximate_rows
    FROM cost_lines
    GROUP BY month, coalesce(project, '(untagged)')
),
bil AS (
    SELECT month, coalesce(project, '(untagged)') AS project,
           sum(CASE WHEN allocation <> 'unused' THEN cost_usd ELSE 0 END) AS billed_usd,
           sum(CASE WHEN allocation = 'unused' THEN cost_usd ELSE 0 END) AS unused_capacity_usd
    FROM billed_allocated
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
FULL OUTER JOIN bil b ON b.month = e.month AND b.project = e.project
