-- Estimated cost rows (table costs, latest row per key) with what cost reports group by: the kind
-- of cost (compute, licence, scratch_storage, storage, storage_transition, storage_early_delete),
-- the month of the usage, and 0/1 flags for unpriced rows and approximate prices.
SELECT c.project, c.sample_id, c.run_id, c.workflow, c.pipeline_release, c.requested_by,
       c.cost_centre, c.job_id, c.attempt, c.component,
       split_part(c.component, ':', 1) AS cost_kind,
       c.month, c.usage_start_at, c.usage_end_at, c.quantity, c.quantity_unit, c.rate_usd,
       c.cost_usd, c.capacity, c.instance_type, c.price_source, c.price_status,
       CASE WHEN c.cost_usd IS NULL THEN 1 ELSE 0 END AS unpriced_rows,
       CASE WHEN c.price_status = 'approximate' THEN 1 ELSE 0 END AS approximate_rows
FROM costs c
