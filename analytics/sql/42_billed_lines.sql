-- Billed line items, each with its role: 'split' (split cost allocation: one task's share of an
-- instance-hour); 'split_parent' (an instance-hour that has split rows: its cost is what they share
-- out, so never add both); 'idle_host' (an hour of an instance that runs tasks in other hours but
-- none in this one: all of it is unused capacity); or 'line' (everything else).
WITH parents AS (
    SELECT DISTINCT split_parent_resource_id AS parent_id, usage_start_at AS hour_at
    FROM billed_costs
    WHERE split_parent_resource_id IS NOT NULL
),
hosts AS (
    SELECT DISTINCT split_parent_resource_id AS host_id
    FROM billed_costs
    WHERE split_parent_resource_id IS NOT NULL
)
SELECT b.*,
       CASE WHEN b.split_parent_resource_id IS NOT NULL THEN 'split'
            WHEN p.parent_id IS NOT NULL THEN 'split_parent'
            WHEN h.host_id IS NOT NULL THEN 'idle_host'
            ELSE 'line' END AS line_role
FROM billed_costs b
-- The instance-hour test sits inside the join key, not beside it: a LIKE next to the equality in a
-- LEFT JOIN's ON makes DuckDB compare every pair of rows (a nested-loop join: hours at a month of
-- the seed's bill), while a key that is NULL for other lines keeps it a hash join.
LEFT JOIN parents p
       ON p.parent_id = CASE WHEN b.split_parent_resource_id IS NULL
                              AND b.product_code = 'AmazonEC2'
                              AND b.usage_type LIKE '%Usage:%' THEN b.resource_id END
      AND p.hour_at = b.usage_start_at
LEFT JOIN hosts h
       ON h.host_id = CASE WHEN b.split_parent_resource_id IS NULL
                            AND b.product_code = 'AmazonEC2'
                            AND b.usage_type LIKE '%Usage:%' THEN b.resource_id END
