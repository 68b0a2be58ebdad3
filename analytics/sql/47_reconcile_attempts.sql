-- Estimated against billed compute, per attempt. Billed comes from split cost allocation rows when
-- the export has them: matched on the instance, an overlapping hour and the run tag; a row that
-- several attempts overlap is shared by overlap seconds. Otherwise it comes from the instance's
-- own hourly rows: the attempt's packing share of the seconds it overlapped each hour. The share
-- is the one the estimate used (quantity x 3600 / billable seconds). Unused instance capacity is
-- shown beside the billed cost, not added to it, except for an attempt that was its instance's
-- only job (instance_tenancy): it is billed the whole instance, its split cost plus the
-- instance's unused capacity (split basis) or every hour of the instance (instance-hours), and
-- its estimate holds the instance's boot and idle rows (instance_rule 'whole instance').
WITH est AS (
    SELECT job_id, attempt, max(month) AS month,
           sum(CASE WHEN cost_kind = 'compute' THEN cost_usd END) AS estimated_compute_usd,
           sum(cost_usd) AS estimated_total_usd,
           sum(unpriced_rows) AS unpriced_rows,
           sum(approximate_rows) AS approximate_rows,
           max(CASE WHEN cost_kind = 'compute' THEN quantity * 3600 / nullif(
                   CAST(date_diff('second', usage_start_at, usage_end_at) AS DOUBLE), 0)
               END) AS share
    FROM cost_lines
    WHERE attempt > 0
    GROUP BY job_id, attempt
),
att AS (
    SELECT a.job_id, a.attempt, a.project, a.sample_id, a.run_id, a.capacity, a.instance_type,
           a.instance_id, a.started_at, a.stopped_at, a.final_status, e.month,
           e.estimated_compute_usd, e.estimated_total_usd, e.unpriced_rows, e.approximate_rows,
           coalesce(e.share, 1.0) AS share
    FROM cost_attempts a
    LEFT JOIN est e ON e.job_id = a.job_id AND e.attempt = a.attempt
    WHERE a.started_at IS NOT NULL
),
split_match AS (
    SELECT s.line_item_id, s.time_interval, s.usage_type, s.resource_id,
           coalesce(s.split_cost_usd, 0) AS split_usd,
           coalesce(s.split_unused_cost_usd, 0) AS unused_usd,
           a.job_id, a.attempt,
           CAST(date_diff('second', greatest(a.started_at, s.usage_start_at),
                          least(a.stopped_at, s.usage_end_at)) AS DOUBLE) AS overlap_s
    FROM billed_lines s
    JOIN att a ON s.split_parent_resource_id = a.instance_id
              AND s.usage_start_at < a.stopped_at AND s.usage_end_at > a.started_at
              AND (s.run_id IS NULL OR a.run_id IS NULL OR s.run_id = a.run_id)
    WHERE s.line_role = 'split'
),
split_alloc AS (
    SELECT job_id, attempt,
           sum(split_usd * overlap_s / nullif(total_s, 0)) AS billed_usd,
           sum(unused_usd * overlap_s / nullif(total_s, 0)) AS unused_usd,
           count(*) AS billed_lines
    FROM (
        SELECT m.*, sum(overlap_s) OVER (
            PARTITION BY line_item_id, time_interval, usage_type, resource_id) AS total_s
        FROM split_match m
    ) shared
    GROUP BY job_id, attempt
),
line_alloc AS (
    SELECT a.job_id, a.attempt,
           sum(l.unblended_cost_usd * a.share
               * CAST(date_diff('second', greatest(a.started_at, l.usage_start_at),
                                least(a.stopped_at, l.usage_end_at)) AS DOUBLE)
               / (l.usage_amount * 3600)) AS billed_usd,
           count(*) AS billed_lines
    FROM billed_lines l
    JOIN att a ON l.resource_id = a.instance_id
              AND l.usage_start_at < a.stopped_at AND l.usage_end_at > a.started_at
    WHERE l.line_role = 'line' AND l.product_code = 'AmazonEC2' AND l.usage_type LIKE '%Usage:%'
      AND l.usage_amount > 0
    GROUP BY a.job_id, a.attempt
),
sole AS (
    -- an attempt alone on its instance for the instance's life: the whole instance is its bill
    SELECT t.sole_job_id AS job_id, t.sole_attempt AS attempt,
           sum(CASE WHEN b.allocation = 'sole_idle' THEN b.cost_usd ELSE 0 END) AS idle_usd,
           sum(CASE WHEN b.allocation = 'line' AND b.product_code = 'AmazonEC2'
                         AND b.usage_type LIKE '%Usage:%' THEN b.cost_usd ELSE 0 END) AS line_usd,
           count(*) AS billed_lines
    FROM instance_tenancy t
    JOIN billed_allocated b ON b.instance_id = t.instance_id
    WHERE t.sole_job_id IS NOT NULL
    GROUP BY t.sole_job_id, t.sole_attempt
),
joined AS (
    SELECT a.*,
           CASE WHEN so.job_id IS NULL THEN coalesce(sa.billed_usd, la.billed_usd)
                WHEN sa.job_id IS NOT NULL THEN sa.billed_usd + so.idle_usd
                ELSE so.line_usd END AS billed_compute_usd,
           CASE WHEN sa.job_id IS NOT NULL THEN 'split'
                WHEN la.job_id IS NOT NULL THEN 'instance-hours' END AS billed_basis,
           CASE WHEN so.job_id IS NOT NULL THEN 'whole instance' ELSE 'packing share' END
               AS instance_rule,
           coalesce(sa.billed_lines, la.billed_lines, 0) AS billed_lines,
           CASE WHEN so.job_id IS NOT NULL THEN 0 ELSE sa.unused_usd END AS unused_capacity_usd
    FROM att a
    LEFT JOIN split_alloc sa ON sa.job_id = a.job_id AND sa.attempt = a.attempt
    LEFT JOIN line_alloc la ON la.job_id = a.job_id AND la.attempt = a.attempt
    LEFT JOIN sole so ON so.job_id = a.job_id AND so.attempt = a.attempt
)
SELECT job_id, attempt, month, project, sample_id, run_id, capacity, instance_type, instance_id,
       started_at, stopped_at, final_status, share, estimated_compute_usd, estimated_total_usd,
       billed_compute_usd, billed_basis, instance_rule, billed_lines, unused_capacity_usd,
       billed_compute_usd - estimated_compute_usd AS residual_usd,
       (billed_compute_usd - estimated_compute_usd) / nullif(estimated_compute_usd, 0)
           AS residual_share,
       unpriced_rows, approximate_rows
FROM joined
