-- Billed spend with every dollar counted once and attributed to tags. A split row's split cost
-- goes to its task's tags. An instance-hour with split rows adds only what they left over, and an
-- hour of a task host with no task at all adds its whole cost: both are unused capacity, under the
-- instance's own tags, except on an instance that ran one attempt in its whole life
-- (instance_tenancy): AWS billed that instance for that job alone, so its unused capacity is
-- the attempt's ('sole_idle', under the attempt's tags). Every other line counts as billed.
-- The total equals the sum of line_item_unblended_cost over the rows that are not split rows. Split rows take the capacity
-- (spot, on-demand) and instance type of their parent instance.
WITH split_totals AS (
    SELECT split_parent_resource_id AS parent_id, usage_start_at AS hour_at,
           sum(coalesce(split_cost_usd, 0)) AS split_usd
    FROM billed_lines
    WHERE line_role = 'split'
    GROUP BY split_parent_resource_id, usage_start_at
),
parent_totals AS (
    SELECT resource_id, usage_start_at, month, max(product_code) AS product_code,
           max(usage_type) AS usage_type, max(capacity) AS capacity,
           max(instance_type) AS instance_type, max(project) AS project,
           max(sample_id) AS sample_id, max(run_id) AS run_id, max(workflow) AS workflow,
           max(pipeline_release) AS pipeline_release, max(requested_by) AS requested_by,
           max(cost_centre) AS cost_centre, sum(unblended_cost_usd) AS cost_usd
    FROM billed_lines
    WHERE line_role = 'split_parent'
    -- month is usage_start_at's: grouping by it changes nothing but lets a month filter prune
    GROUP BY resource_id, usage_start_at, month
),
-- unused capacity, two ways: what split rows left of an instance-hour, and a task host's hour
-- with no task at all
idle AS (
    SELECT p.month, p.usage_start_at, p.product_code, p.usage_type, p.resource_id, p.capacity,
           p.instance_type, p.project, p.sample_id, p.run_id, p.workflow, p.pipeline_release,
           p.requested_by, p.cost_centre, p.cost_usd - s.split_usd AS cost_usd
    FROM parent_totals p
    JOIN split_totals s ON s.parent_id = p.resource_id AND s.hour_at = p.usage_start_at
    UNION ALL
    SELECT month, usage_start_at, product_code, usage_type, resource_id, capacity, instance_type,
           project, sample_id, run_id, workflow, pipeline_release, requested_by, cost_centre,
           unblended_cost_usd AS cost_usd
    FROM billed_lines
    WHERE line_role = 'idle_host'
)
SELECT s.month, s.usage_start_at, 'split' AS allocation, s.product_code, s.usage_type,
       s.resource_id, s.split_parent_resource_id AS instance_id,
       coalesce(s.capacity, p.capacity) AS capacity,
       coalesce(s.instance_type, p.instance_type) AS instance_type, s.project, s.sample_id,
       s.run_id, s.workflow, s.pipeline_release, s.requested_by, s.cost_centre,
       coalesce(s.split_cost_usd, 0) AS cost_usd
FROM billed_lines s
LEFT JOIN parent_totals p
       ON p.resource_id = s.split_parent_resource_id AND p.usage_start_at = s.usage_start_at
WHERE s.line_role = 'split'
UNION ALL
SELECT month, usage_start_at, 'line' AS allocation, product_code, usage_type, resource_id,
       CASE WHEN resource_id LIKE 'i-%' THEN resource_id END AS instance_id, capacity,
       instance_type, project, sample_id, run_id, workflow, pipeline_release, requested_by,
       cost_centre, unblended_cost_usd AS cost_usd
FROM billed_lines
WHERE line_role = 'line'
UNION ALL
SELECT i.month, i.usage_start_at,
       CASE WHEN t.sole_job_id IS NOT NULL THEN 'sole_idle' ELSE 'unused' END AS allocation,
       i.product_code, i.usage_type, i.resource_id, i.resource_id AS instance_id, i.capacity,
       i.instance_type,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.project ELSE i.project END AS project,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.sample_id ELSE i.sample_id END AS sample_id,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.run_id ELSE i.run_id END AS run_id,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.workflow ELSE i.workflow END AS workflow,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.pipeline_release ELSE i.pipeline_release END
           AS pipeline_release,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.requested_by ELSE i.requested_by END
           AS requested_by,
       CASE WHEN t.sole_job_id IS NOT NULL THEN t.cost_centre ELSE i.cost_centre END
           AS cost_centre,
       i.cost_usd
FROM idle i
LEFT JOIN instance_tenancy t ON t.instance_id = i.resource_id AND t.sole_job_id IS NOT NULL
