-- Estimated cost rows (table costs, latest row per key) with what cost reports group by: the kind
-- of cost (compute, licence, scratch_storage, storage, storage_transition, storage_early_delete),
-- the month of the usage, and 0/1 flags for unpriced rows, approximate prices (assumed ones
-- included) and assumed prices (no source at all: the shipped DRAGEN licence rate).
SELECT c.project, c.sample_id, c.run_id, c.workflow, c.pipeline_release, c.requested_by,
       c.cost_centre, c.job_id, c.attempt, c.component,
       split_part(c.component, ':', 1) AS cost_kind,
       c.month, c.usage_start_at, c.usage_end_at, c.quantity, c.quantity_unit, c.rate_usd,
       c.cost_usd, c.capacity, c.instance_type, c.price_source, c.price_status,
       CASE WHEN c.cost_usd IS NULL THEN 1 ELSE 0 END AS unpriced_rows,
       CASE WHEN c.price_status IN ('approximate', 'assumed') THEN 1 ELSE 0 END AS approximate_rows,
       CASE WHEN c.price_status = 'assumed' THEN 1 ELSE 0 END AS assumed_rows
FROM costs c
