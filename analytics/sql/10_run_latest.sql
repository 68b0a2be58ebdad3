-- The current state of every run: a finished run stays finished (a late RUNNING row, or one
-- with a later time from another clock, never reopens it); otherwise its latest status row.
SELECT run_id, sample_id, project, workflow, pipeline_release, requested_by, cost_centre,
       status, status_at, input_kind, input_size_bytes, input_bases, executor, reason
FROM (
    SELECT r.*, row_number() OVER (
        PARTITION BY run_id
        ORDER BY CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN 1 ELSE 0 END DESC,
                 status_at DESC,
                 CASE status WHEN 'RUNNING' THEN 2 ELSE 1 END DESC
    ) AS rn__
    FROM runs r
) WHERE rn__ = 1
