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
LEFT JOIN parents p
       ON p.parent_id = b.resource_id AND p.hour_at = b.usage_start_at
      AND b.split_parent_resource_id IS NULL
      AND b.product_code = 'AmazonEC2' AND b.usage_type LIKE '%Usage:%'
LEFT JOIN hosts h
       ON h.host_id = b.resource_id
      AND b.split_parent_resource_id IS NULL
      AND b.product_code = 'AmazonEC2' AND b.usage_type LIKE '%Usage:%'
