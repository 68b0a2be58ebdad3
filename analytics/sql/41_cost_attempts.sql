-- One row per job attempt with where and when it ran (from its state-change rows): the window the
-- reconciliation matches billing hours against.
SELECT job_id, attempt,
       max(project) AS project, max(sample_id) AS sample_id, max(run_id) AS run_id,
       max(workflow) AS workflow, max(pipeline_release) AS pipeline_release,
       max(requested_by) AS requested_by, max(cost_centre) AS cost_centre,
       max(capacity) AS capacity, max(instance_type) AS instance_type,
       max(instance_id) AS instance_id, max(vcpus) AS vcpus, max(memory_mib) AS memory_mib,
       min(started_at) AS started_at, max(stopped_at) AS stopped_at,
       max(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN status END) AS final_status
FROM job_attempts
GROUP BY job_id, attempt
