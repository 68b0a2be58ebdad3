"""The SQL of the rollup the Runs page's turnaround reads (``analytics.rollups`` runs it).

``rollup_run_turnaround_monthly``: one row per run with a ``sample_qc`` verdict, in the month of
its latest verdict, with the hours of each part of its turnaround (``analytics.runs.turnaround``
says what each part measures). A run is counted once, at its latest verdict: a re-gate in a later
month moves it there, so a month reads ``qc_results`` of every later month; the run's status rows,
attempts and its sample's arrivals can be months older than the verdict (a run re-gated long
after it finished), so a month reads those of every earlier month too.
"""

from __future__ import annotations

QC_SUITE = "sample_qc"
FINISHED = "('SUCCEEDED', 'FAILED')"
# The latest status of a run: a finished run stays finished (as ``run_latest`` orders it).
LATEST_ORDER = (
    "CASE WHEN status IN ('SUCCEEDED', 'FAILED') THEN 1 ELSE 0 END DESC, status_at DESC, "
    "CASE status WHEN 'RUNNING' THEN 2 ELSE 1 END DESC"
)

RUN_TURNAROUND = f"""
    WITH l AS (
        SELECT * FROM (
            SELECT r.*, row_number() OVER (PARTITION BY run_id ORDER BY {LATEST_ORDER}) AS rn__
            FROM {{p}}runs r) WHERE rn__ = 1 AND status IN {FINISHED}
    ),
    q AS (
        SELECT run_id, max(evaluated_at) AS evaluated_at FROM {{p}}qc_results
        WHERE check_id = 'overall' AND suite = '{QC_SUITE}'
        GROUP BY run_id
        HAVING strftime(max(evaluated_at), '%Y-%m') IN ({{target}})
    ),
    d AS (SELECT run_id, min(status_at) AS dispatched_at FROM {{p}}runs
          WHERE run_id IN (SELECT run_id FROM q) GROUP BY run_id),
    -- only the attempts of the month's runs: a semi-join, not every attempt grouped
    s AS (
        SELECT run_id, min(coalesce(started_at, CASE WHEN status = 'RUNNING'
                                                     THEN status_at END)) AS started_at
        FROM {{p}}job_attempts WHERE run_id IN (SELECT run_id FROM q) GROUP BY run_id
    ),
    arr AS (
        SELECT project, sample_id, min(event_at) AS arrived_at FROM {{p}}arrivals
        WHERE sample_id IS NOT NULL GROUP BY project, sample_id
    ),
    t AS (
        SELECT l.run_id, l.project, l.cost_centre, l.workflow, l.pipeline_release,
               q.evaluated_at, d.dispatched_at, l.status_at AS ended_at, s.started_at,
               CASE WHEN arr.arrived_at <= d.dispatched_at THEN arr.arrived_at
                    ELSE d.dispatched_at END AS arrived_at
        FROM l
        JOIN q ON q.run_id = l.run_id
        JOIN d ON d.run_id = l.run_id
        LEFT JOIN s ON s.run_id = l.run_id
        LEFT JOIN arr ON arr.project = l.project AND arr.sample_id = l.sample_id
    )
    SELECT evaluated_at, run_id, project, cost_centre, workflow, pipeline_release,
           date_diff('second', arrived_at, dispatched_at) / 3600.0 AS waiting_h,
           date_diff('second', dispatched_at, coalesce(started_at, ended_at)) / 3600.0 AS queue_h,
           date_diff('second', coalesce(started_at, ended_at), ended_at) / 3600.0 AS run_h,
           date_diff('second', ended_at, evaluated_at) / 3600.0 AS qc_h,
           date_diff('second', arrived_at, evaluated_at) / 3600.0 AS turnaround_h
    FROM t"""
