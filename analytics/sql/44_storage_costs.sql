-- Storage measured by inventory (table storage), priced: GB-months by month, project, sample and
-- storage class, at the class's price in effect on the inventory day, beside what the same
-- GB-months cost in S3 Standard (the baseline of the realized archival saving). A row stands for
-- covered_days days of one object in its class (1: the inventory is daily); a GB-month is 2^30
-- bytes kept for a whole calendar month, as S3 bills it.
WITH s AS (
    SELECT month, project, sample_id, storage_class, inventory_source, inventory_at,
           size_bytes / 1073741824.0 * covered_days
             / date_diff('day', date_trunc('month', inventory_at),
                         date_trunc('month', inventory_at) + INTERVAL 1 MONTH) AS gb_months
    FROM storage
),
priced AS (
    SELECT s.*, p.usd AS class_usd, p.price_status AS class_status, std.usd AS standard_usd
    FROM s
    LEFT JOIN prices p ON p.price_kind = 's3-storage' AND p.item = s.storage_class
         AND s.inventory_at >= p.effective_from_at
         AND (p.effective_to_at IS NULL OR s.inventory_at < p.effective_to_at)
    LEFT JOIN prices std ON std.price_kind = 's3-storage' AND std.item = 'STANDARD'
         AND s.inventory_at >= std.effective_from_at
         AND (std.effective_to_at IS NULL OR s.inventory_at < std.effective_to_at)
)
SELECT month, project, sample_id, storage_class, inventory_source,
       count(DISTINCT inventory_at) AS inventories,
       sum(gb_months) AS gb_months,
       sum(gb_months * class_usd) AS cost_usd,
       sum(gb_months * standard_usd) AS standard_cost_usd,
       sum(CASE WHEN class_usd IS NULL OR standard_usd IS NULL THEN 1 ELSE 0 END) AS unpriced_rows,
       sum(CASE WHEN class_status = 'approximate' THEN 1 ELSE 0 END) AS approximate_rows
FROM priced
GROUP BY month, project, sample_id, storage_class, inventory_source
