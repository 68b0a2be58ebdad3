"""The SQL of the rollups the Failures and Spot page reads (``analytics.rollups`` runs it).

Three daily rollups of job attempts, each counted on the day the page's question counts it:

- ``rollup_attempt_ends_daily``: finished attempts on the day (and UTC hour) they ended, by the
  tags the page filters on, capacity, instance type, availability zone, final status, the policy's
  failure kind and whether a Spot reclaim ended them (failures by kind; reclaims by type, zone
  and hour);
- ``rollup_retried_runs_daily``: runs that took more than one attempt, on the day of their current
  status, by where they ended (Spot, On-Demand, given up, still running);
- ``rollup_attempt_costs_daily``: estimated cost of attempts on the day of usage, by whether the
  attempt finished, its failure kind and the kind of cost (compute, licence, scratch).

Each is a SELECT over views prefixed ``{p}`` (the facts of the month and one either side) for
the months in ``({target})``; an attempt is one row per ``(job_id, attempt)`` whatever number of
state rows it has. An attempt's zone is not in the Batch events: it comes from the billing
export's lines for its instance (NULL, shown as ``unknown``, until one is loaded). Each month
also has one row of zeros with a null status or outcome (``nothing`` says why).
"""

from __future__ import annotations


def nothing(columns: str, time: str = "day_at") -> str:
    """One row of zeros per target month (``time`` its first day, ``columns`` the rest).

    A month whose facts hold nothing to count (decisions only, no retried run) would otherwise
    store no row, hence no digest, and stay stale for ever; readers skip the row by its null
    status or outcome.
    """
    return f"""
    UNION ALL
    SELECT CAST(m || '-01' AS TIMESTAMPTZ) AS {time}, {columns}
    FROM (SELECT unnest([{{target}}]) AS m) WHERE m IS NOT NULL"""



def kind(p: str = "") -> str:
    """The failure kind of an attempt; with no decision, a reclaim when Batch said its host was
    terminated, else ``unclassified`` (as the overview counts them)."""
    return (f"coalesce({p}failure_kind, CASE WHEN {p}spot_reclaim THEN 'spot_reclaim' "
            "ELSE 'unclassified' END)")


# CTEs ``att`` (one row per attempt: tags, end, final status) and ``out`` (with the policy's
# decision and whether a Spot reclaim ended it), over ``{p}job_attempts`` and ``{p}decisions``.
ATTEMPTS = """
    att AS (
        SELECT job_id, attempt, max(run_id) AS run_id, max(project) AS project,
               max(cost_centre) AS cost_centre, max(workflow) AS workflow,
               max(pipeline_release) AS pipeline_release, max(capacity) AS capacity,
               max(instance_type) AS instance_type, max(instance_id) AS instance_id,
               max(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN status END) AS final_status,
               max(CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN status_at END) AS ended_at,
               max(CASE WHEN status = 'FAILED' THEN status_reason END) AS status_reason
        FROM {p}job_attempts
        GROUP BY job_id, attempt
    ),
    out AS (
        SELECT a.*, d.failure_kind,
               CASE WHEN d.failure_kind = 'spot_reclaim' THEN TRUE
                    WHEN d.failure_kind IS NULL AND a.final_status = 'FAILED'
                         AND a.status_reason LIKE 'Host EC2%' THEN TRUE
                    ELSE FALSE END AS spot_reclaim
        FROM att a
        LEFT JOIN {p}decisions d ON d.job_id = a.job_id AND d.attempt = a.attempt
    )"""

ATTEMPT_ENDS = f"""
    WITH {ATTEMPTS},
    zones AS (
        SELECT resource_id, max(availability_zone) AS availability_zone
        FROM {{p}}billed_costs
        WHERE resource_id LIKE 'i-%' AND availability_zone IS NOT NULL AND availability_zone <> ''
        GROUP BY resource_id
    )
    SELECT date_trunc('day', a.ended_at) AS day_at, CAST(hour(a.ended_at) AS INTEGER) AS hour,
           a.project, a.cost_centre, a.workflow, a.pipeline_release, a.capacity,
           a.instance_type, z.availability_zone, a.final_status, a.failure_kind, a.spot_reclaim,
           count(*) AS attempts
    FROM out a
    LEFT JOIN zones z ON z.resource_id = a.instance_id
    WHERE a.final_status IS NOT NULL AND strftime(a.ended_at, '%Y-%m') IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    {nothing("NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FALSE, 0")}"""

_LATEST_RUN = ("CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN 1 ELSE 0 END DESC, "
               "status_at DESC, CASE status WHEN 'RUNNING' THEN 2 ELSE 1 END DESC")

RETRIED_RUNS = f"""
    WITH {ATTEMPTS},
    l AS (
        SELECT * FROM (
            SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {_LATEST_RUN}) AS rn__
            FROM {{p}}runs r) WHERE rn__ = 1
    ),
    per_run AS (
        SELECT run_id, count(*) AS attempts,
               count(CASE WHEN spot_reclaim THEN 1 END) AS spot_reclaims
        FROM out GROUP BY run_id
    ),
    last AS (
        SELECT * FROM (
            SELECT o.run_id, o.capacity,
                   row_number() OVER (PARTITION BY o.run_id ORDER BY o.attempt DESC) AS rn__
            FROM out o) WHERE rn__ = 1
    )
    SELECT date_trunc('day', l.status_at) AS day_at, l.project, l.cost_centre, l.workflow,
           l.pipeline_release,
           CASE WHEN l.status = 'SUCCEEDED' AND t.capacity = 'spot' THEN 'succeeded on Spot'
                WHEN l.status = 'SUCCEEDED' AND t.capacity = 'on-demand'
                    THEN 'succeeded on On-Demand'
                WHEN l.status = 'SUCCEEDED' THEN 'succeeded, capacity unknown'
                WHEN l.status = 'FAILED' THEN 'given up'
                ELSE 'still running' END AS outcome,
           count(*) AS runs, CAST(sum(p.attempts) AS BIGINT) AS attempts,
           CAST(sum(p.spot_reclaims) AS BIGINT) AS spot_reclaims
    FROM l
    JOIN per_run p ON p.run_id = l.run_id
    LEFT JOIN last t ON t.run_id = l.run_id
    WHERE p.attempts > 1 AND strftime(l.status_at, '%Y-%m') IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6
    {nothing("NULL, NULL, NULL, NULL, NULL, 0, 0, 0")}"""

# An attempt's cost rows of one kind share its day and tags: distinct attempts add up over days.
# Money is summed in a fixed order: the same rows give the same bits, so a recomputed month is
# the same file (a refresh that changes nothing writes nothing).
ATTEMPT_COSTS = f"""
    WITH {ATTEMPTS}
    SELECT date_trunc('day', c.usage_start_at) AS day_at, c.project, c.cost_centre, c.workflow,
           c.pipeline_release,
           CASE o.final_status WHEN 'SUCCEEDED' THEN 'finished'
                               WHEN 'FAILED' THEN 'did not finish'
                               ELSE 'in progress' END AS outcome,
           CASE WHEN o.final_status = 'FAILED' THEN {kind('o.')} END AS failure_kind,
           split_part(c.component, ':', 1) AS cost_kind,
           count(DISTINCT c.job_id || '/' || CAST(c.attempt AS VARCHAR)) AS attempts,
           sum(c.cost_usd ORDER BY c.cost_usd) AS cost_usd,
           count(CASE WHEN c.cost_usd IS NULL THEN 1 END) AS unpriced_rows,
           count(CASE WHEN c.price_status IN ('approximate', 'assumed') THEN 1 END)
               AS approximate_rows
    FROM {{p}}costs c
    LEFT JOIN out o ON o.job_id = c.job_id AND o.attempt = c.attempt
    WHERE c.attempt > 0 AND c.month IN ({{target}})
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    {nothing("NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0")}"""
