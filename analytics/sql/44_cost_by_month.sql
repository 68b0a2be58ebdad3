-- Estimated cost by month, project and kind (compute, licence, storage, …): the monthly trend.
SELECT month, project, cost_kind,
       sum(cost_usd) AS estimated_usd,
       count(*) AS line_count,
       sum(unpriced_rows) AS unpriced_rows,
       sum(approximate_rows) AS approximate_rows,
       count(DISTINCT sample_id) AS samples
FROM cost_lines
GROUP BY month, project, cost_kind
