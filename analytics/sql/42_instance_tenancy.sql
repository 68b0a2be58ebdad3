-- Who ran on each instance whose whole life is known. An instance that ran one attempt was that
-- attempt's alone: AWS bills the instance from launch to termination, so the attempt is charged
-- all of it (its split cost and the instance's unused capacity). Instances that ran several
-- attempts were shared: packing shares apply and their idle time stays unused capacity.
SELECT l.instance_id, l.instance_type, l.capacity, l.availability_zone, l.launched_at,
       l.ended_at, count(*) AS attempts,
       CASE WHEN count(*) = 1 THEN max(a.job_id) END AS sole_job_id,
       CASE WHEN count(*) = 1 THEN max(a.attempt) END AS sole_attempt,
       -- the sole attempt's tags (null on a shared instance)
       CASE WHEN count(*) = 1 THEN max(a.project) END AS project,
       CASE WHEN count(*) = 1 THEN max(a.sample_id) END AS sample_id,
       CASE WHEN count(*) = 1 THEN max(a.run_id) END AS run_id,
       CASE WHEN count(*) = 1 THEN max(a.workflow) END AS workflow,
       CASE WHEN count(*) = 1 THEN max(a.pipeline_release) END AS pipeline_release,
       CASE WHEN count(*) = 1 THEN max(a.requested_by) END AS requested_by,
       CASE WHEN count(*) = 1 THEN max(a.cost_centre) END AS cost_centre
FROM instance_lives l
JOIN cost_attempts a ON a.instance_id = l.instance_id
WHERE l.launched_at IS NOT NULL AND l.ended_at IS NOT NULL
GROUP BY l.instance_id, l.instance_type, l.capacity, l.availability_zone, l.launched_at,
         l.ended_at
