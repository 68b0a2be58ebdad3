-- Savings against a baseline, by month. Spot against On-Demand, three ways: estimated gross (each
-- Spot compute row's instance-hours at the On-Demand price in effect), estimated net of what
-- reclaims cost (below), and billed (the export's public On-Demand cost, else the usage at the
-- On-Demand price). Tag-driven archival against keeping
-- every byte in S3 Standard: estimated (modelled storage cost rows) and realized (storage measured
-- by inventory, view storage_costs). Only rows priced on both sides enter the sums; the rest are counted
-- in unpriced_rows.
WITH od AS (
    SELECT item, usd, price_status, effective_from_at, effective_to_at
    FROM prices
    WHERE price_kind = 'ec2-on-demand'
),
std AS (
    SELECT usd, effective_from_at, effective_to_at
    FROM prices
    WHERE price_kind = 's3-storage' AND item = 'STANDARD'
),
spot_est AS (
    SELECT c.month, c.cost_usd AS actual_usd, c.quantity * od.usd AS baseline_usd,
           CASE WHEN c.price_status IN ('approximate', 'assumed') OR od.price_status = 'approximate'
                THEN 1 ELSE 0 END AS approximate_rows
    FROM cost_lines c
    LEFT JOIN od ON od.item = c.instance_type AND c.usage_start_at >= od.effective_from_at
                AND (od.effective_to_at IS NULL OR c.usage_start_at < od.effective_to_at)
    WHERE c.cost_kind = 'compute' AND c.capacity = 'spot'
),
-- Net of retries: a Spot reclaim costs what the reclaimed attempt ran (already in Spot compute)
-- plus its licence and scratch, spent again by the retry; On-Demand would have run the analysis
-- once. So the baseline counts only attempts that were not reclaimed, and the actual side adds
-- every other cost line of the reclaimed attempts.
reclaimed AS (
    SELECT DISTINCT job_id, attempt FROM decisions WHERE failure_kind = 'spot_reclaim'
),
spot_net AS (
    SELECT c.month, c.cost_usd AS actual_usd,
           -- a reclaimed attempt's lines join the sums only where On-Demand is priced for its
           -- instance type: without that price there is no baseline to be net of
           CASE WHEN r.job_id IS NOT NULL THEN CASE WHEN od.usd IS NOT NULL THEN 0 END
                WHEN c.cost_kind = 'compute' THEN c.quantity * od.usd END AS baseline_usd,
           CASE WHEN c.price_status IN ('approximate', 'assumed')
                     OR od.price_status = 'approximate' THEN 1 ELSE 0 END AS approximate_rows
    FROM cost_lines c
    LEFT JOIN reclaimed r ON r.job_id = c.job_id AND r.attempt = c.attempt
    LEFT JOIN od ON od.item = c.instance_type AND c.usage_start_at >= od.effective_from_at
                AND (od.effective_to_at IS NULL OR c.usage_start_at < od.effective_to_at)
    WHERE c.capacity = 'spot' AND (c.cost_kind = 'compute' OR r.job_id IS NOT NULL)
),
spot_billed AS (
    SELECT b.month, b.unblended_cost_usd AS actual_usd,
           CASE WHEN b.public_on_demand_cost_usd > 0 THEN b.public_on_demand_cost_usd
                ELSE b.usage_amount * od.usd END AS baseline_usd,
           CASE WHEN (b.public_on_demand_cost_usd IS NULL OR b.public_on_demand_cost_usd <= 0)
                     AND od.price_status = 'approximate' THEN 1 ELSE 0 END AS approximate_rows
    FROM billed_lines b
    LEFT JOIN od ON od.item = b.instance_type AND b.usage_start_at >= od.effective_from_at
                AND (od.effective_to_at IS NULL OR b.usage_start_at < od.effective_to_at)
    WHERE b.capacity = 'spot' AND b.line_role <> 'split'
),
archive_est AS (
    SELECT c.month, c.cost_usd AS actual_usd,
           CASE WHEN c.cost_kind = 'storage' THEN c.quantity * std.usd ELSE 0 END AS baseline_usd,
           c.approximate_rows
    FROM cost_lines c
    LEFT JOIN std ON c.usage_start_at >= std.effective_from_at
                 AND (std.effective_to_at IS NULL OR c.usage_start_at < std.effective_to_at)
    WHERE c.cost_kind IN ('storage', 'storage_transition', 'storage_early_delete')
),
archive_inventory AS (
    SELECT month, cost_usd AS actual_usd, standard_cost_usd AS baseline_usd, approximate_rows
    FROM storage_costs
),
unioned AS (
    SELECT 'spot vs on-demand, gross (estimated)' AS scenario, s.* FROM spot_est s
    UNION ALL
    SELECT 'spot vs on-demand, net of retries (estimated)' AS scenario, s.* FROM spot_net s
    UNION ALL
    SELECT 'spot vs on-demand (billed)' AS scenario, s.* FROM spot_billed s
    UNION ALL
    SELECT 'archival vs all-standard (estimated)' AS scenario, s.* FROM archive_est s
    UNION ALL
    SELECT 'archival vs all-standard (inventory)' AS scenario, s.* FROM archive_inventory s
)
SELECT scenario, month,
       sum(CASE WHEN baseline_usd IS NOT NULL THEN actual_usd END) AS actual_usd,
       sum(CASE WHEN actual_usd IS NOT NULL THEN baseline_usd END) AS baseline_usd,
       sum(CASE WHEN actual_usd IS NOT NULL THEN baseline_usd END)
         - sum(CASE WHEN baseline_usd IS NOT NULL THEN actual_usd END) AS saving_usd,
       count(*) AS line_count,
       sum(CASE WHEN actual_usd IS NULL OR baseline_usd IS NULL THEN 1 ELSE 0 END) AS unpriced_rows,
       sum(approximate_rows) AS approximate_rows
FROM unioned
GROUP BY scenario, month
