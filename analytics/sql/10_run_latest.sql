-- The current state of every run: its latest status row (terminal statuses win ties).
SELECT run_id, sample_id, project, workflow, pipeline_release, requested_by, cost_centre,
       status, status_at, input_kind, input_size_bytes, input_bases, executor, reason
FROM (
    SELECT r.*, row_number() OVER (
        PARTITION BY run_id
        ORDER BY status_at DESC,
                 CASE status WHEN 'SUCCEEDED' THEN 3 WHEN 'FAILED' THEN 3
                             WHEN 'RUNNING' THEN 2 ELSE 1 END DESC
    ) AS rn__
    FROM runs r
) WHERE rn__ = 1
