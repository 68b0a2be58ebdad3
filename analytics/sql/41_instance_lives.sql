-- One row per EC2 instance from its state changes (table instances): what it was and the window
-- EC2 bills it for, from 'running' (else its launch, 'pending') until it began to end
-- ('shutting-down', else a later end state). ended_at is null while the instance runs.
SELECT instance_id,
       max(instance_type) AS instance_type, max(capacity) AS capacity,
       max(availability_zone) AS availability_zone, max(region) AS region,
       coalesce(min(CASE WHEN state = 'running' THEN state_at END),
                min(CASE WHEN state = 'pending' THEN state_at END)) AS launched_at,
       min(CASE WHEN state IN ('shutting-down', 'terminated', 'stopping', 'stopped')
                THEN state_at END) AS ended_at
FROM instances
GROUP BY instance_id
