-- One row per run: its current status, the UTC day and month it finished (NULL while it runs),
-- and how many attempts and Spot reclaims it took.
SELECT l.run_id, l.sample_id, l.project, l.workflow, l.pipeline_release, l.executor,
       l.status, l.status_at, l.reason,
       CASE WHEN l.status IN ('SUCCEEDED', 'FAILED')
            THEN CAST(CAST(l.status_at AS DATE) AS VARCHAR) END AS finished_day,
       CASE WHEN l.status IN ('SUCCEEDED', 'FAILED')
            THEN substr(CAST(CAST(l.status_at AS DATE) AS VARCHAR), 1, 7) END AS finished_month,
       coalesce(a.attempts, 0) AS attempts,
       coalesce(a.spot_reclaims, 0) AS spot_reclaims
FROM run_latest l
LEFT JOIN (
    SELECT run_id, count(*) AS attempts,
           count(CASE WHEN spot_reclaim THEN 1 END) AS spot_reclaims
    FROM attempt_outcomes
    GROUP BY run_id
) a ON a.run_id = l.run_id
