-- Cost per sample and per gigabase of input: estimated (all components, with storage as the
-- inventory measured it: view storage_costs) and billed (split and line spend carrying the
-- sample's tag). Gigabases come from the runs table, or else from the
-- licence rows' quantity (one per run).
WITH est AS (
    SELECT sample_id, max(project) AS project, count(DISTINCT run_id) AS runs,
           min(month) AS first_month,
           sum(cost_usd) AS estimated_usd,
           sum(CASE WHEN cost_kind = 'compute' THEN cost_usd END) AS compute_usd,
           sum(CASE WHEN cost_kind = 'licence' THEN cost_usd END) AS licence_usd,
           sum(CASE WHEN cost_kind = 'scratch_storage' THEN cost_usd END) AS scratch_usd,
           sum(CASE WHEN cost_kind LIKE 'storage%' THEN cost_usd END) AS storage_usd,
           sum(unpriced_rows) AS unpriced_rows,
           sum(approximate_rows) AS approximate_rows
    FROM cost_lines
    WHERE sample_id IS NOT NULL
    GROUP BY sample_id
),
run_bases AS (
    SELECT run_id, max(sample_id) AS sample_id, max(input_bases) AS input_bases
    FROM runs
    GROUP BY run_id
),
licence_bases AS (
    SELECT run_id, max(sample_id) AS sample_id, max(quantity) * 1e9 AS input_bases
    FROM cost_lines
    WHERE cost_kind = 'licence' AND quantity IS NOT NULL
    GROUP BY run_id
),
bases AS (
    SELECT coalesce(r.sample_id, l.sample_id) AS sample_id,
           sum(coalesce(CAST(r.input_bases AS DOUBLE), l.input_bases)) AS input_bases
    FROM run_bases r
    FULL OUTER JOIN licence_bases l ON l.run_id = r.run_id
    GROUP BY coalesce(r.sample_id, l.sample_id)
),
stored AS (
    SELECT sample_id, sum(cost_usd) AS stored_usd,
           sum(unpriced_rows) AS unpriced_rows, sum(approximate_rows) AS approximate_rows
    FROM storage_costs
    WHERE sample_id IS NOT NULL
    GROUP BY sample_id
),
billed AS (
    SELECT sample_id, sum(cost_usd) AS billed_usd
    FROM billed_allocated
    WHERE sample_id IS NOT NULL AND allocation <> 'unused'
    GROUP BY sample_id
)
SELECT e.sample_id, e.project, e.runs, e.first_month,
       e.estimated_usd + coalesce(st.stored_usd, 0) AS estimated_usd, e.compute_usd,
       e.licence_usd, e.scratch_usd,
       CASE WHEN e.storage_usd IS NULL AND st.stored_usd IS NULL THEN NULL
            ELSE coalesce(e.storage_usd, 0) + coalesce(st.stored_usd, 0) END AS storage_usd,
       e.unpriced_rows + coalesce(st.unpriced_rows, 0) AS unpriced_rows,
       e.approximate_rows + coalesce(st.approximate_rows, 0) AS approximate_rows,
       b.input_bases / 1e9 AS input_gbases,
       (e.estimated_usd + coalesce(st.stored_usd, 0)) / nullif(b.input_bases / 1e9, 0)
         AS estimated_usd_per_gbase,
       bl.billed_usd,
       bl.billed_usd / nullif(b.input_bases / 1e9, 0) AS billed_usd_per_gbase
FROM est e
LEFT JOIN bases b ON b.sample_id = e.sample_id
LEFT JOIN stored st ON st.sample_id = e.sample_id
LEFT JOIN billed bl ON bl.sample_id = e.sample_id
