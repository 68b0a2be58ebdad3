-- Billed spend that cannot be charged back, by month, service and usage type: 'untagged' (none of
-- the cost-allocation tags) or 'partial' (some tags, but no project or no cost centre). Unused
-- instance capacity is listed under its instance's tags.
SELECT month,
       CASE WHEN project IS NULL AND sample_id IS NULL AND run_id IS NULL AND workflow IS NULL
                 AND pipeline_release IS NULL AND requested_by IS NULL AND cost_centre IS NULL
            THEN 'untagged' ELSE 'partial' END AS tag_status,
       allocation, product_code, usage_type,
       count(*) AS line_count,
       sum(cost_usd) AS cost_usd
FROM billed_allocated
WHERE project IS NULL OR cost_centre IS NULL
GROUP BY month,
         CASE WHEN project IS NULL AND sample_id IS NULL AND run_id IS NULL AND workflow IS NULL
                   AND pipeline_release IS NULL AND requested_by IS NULL AND cost_centre IS NULL
              THEN 'untagged' ELSE 'partial' END,
         allocation, product_code, usage_type
