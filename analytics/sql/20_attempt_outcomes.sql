-- One row per attempt of a job: its furthest state, and whether it ended in a Spot reclaim.
-- A reclaim is what the retry policy decided (decisions.failure_kind), or, where no decision was
-- recorded, a FAILED attempt whose Batch status reason is "Host EC2 (instance i-...) terminated."
SELECT a.job_id, a.attempt, a.run_id, a.sample_id, a.project, a.capacity, a.instance_type,
       a.job_queue, a.status, a.status_at, a.status_reason, a.exit_code, a.started_at,
       a.stopped_at, d.failure_kind, d.action,
       CASE WHEN d.failure_kind = 'spot_reclaim' THEN TRUE
            WHEN d.failure_kind IS NULL AND a.status = 'FAILED'
                 AND a.status_reason LIKE 'Host EC2%' THEN TRUE
            ELSE FALSE END AS spot_reclaim
FROM (
    SELECT j.*, row_number() OVER (
        PARTITION BY job_id, attempt
        ORDER BY CASE status WHEN 'SUCCEEDED' THEN 7 WHEN 'FAILED' THEN 7 WHEN 'RUNNING' THEN 6
                             WHEN 'STARTING' THEN 5 WHEN 'RUNNABLE' THEN 4 WHEN 'PENDING' THEN 3
                             WHEN 'SUBMITTED' THEN 2 ELSE 1 END DESC,
                 status_at DESC
    ) AS rn__
    FROM job_attempts j
) a
LEFT JOIN decisions d ON d.job_id = a.job_id AND d.attempt = a.attempt
WHERE a.rn__ = 1
