"""What is waiting and why: samples missing a mate, runs queued, runs retrying, quarantine.

Query functions over an ``analytics.engine.Engine`` (DuckDB or Athena; a connection from
``analytics.engine.connect`` is accepted too) reading the deduplicated tables and the
``run_latest`` view, for ``seqledger status``. Each returns a pyarrow Table, empty on an empty
lake.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from analytics.engine import Engine, as_engine

if TYPE_CHECKING:
    import pyarrow as pa

# The lane as the names carry it, for rows written before arrivals.lane was filled.
_LANE = r"coalesce(lane, nullif(regexp_extract(object_key, '_(L[0-9]{3})[_.]', 1), ''))"


def samples_waiting(con: Engine) -> pa.Table:
    """FASTQ/ORA samples with a lane whose mates are not all there: one row per such lane,
    with how many R1 and R2 arrived, the mate missing, and when the last file of it came."""
    return as_engine(con).table(f"""
        WITH arrived AS (
            SELECT * FROM (
                SELECT a.*, row_number() OVER (PARTITION BY object_uri
                                               ORDER BY event_at DESC, etag DESC) AS rn__
                FROM arrivals a
                WHERE input_kind IN ('fastq', 'ora') AND sample_id IS NOT NULL
            ) WHERE rn__ = 1
        ), lanes AS (
            SELECT project, sample_id, input_kind, {_LANE} AS lane,
                   count(CASE WHEN mate = 'R1' THEN 1 END) AS r1_files,
                   count(CASE WHEN mate = 'R2' THEN 1 END) AS r2_files,
                   max(event_at) AS last_arrival_at
            FROM arrived
            GROUP BY project, sample_id, input_kind, {_LANE}
        )
        SELECT project, sample_id, input_kind, lane, r1_files, r2_files,
               CASE WHEN r1_files > r2_files THEN 'R2' ELSE 'R1' END AS missing_mate,
               last_arrival_at
        FROM lanes
        WHERE r1_files <> r2_files
        ORDER BY last_arrival_at, project, sample_id, lane
    """)


def runs_queued(con: Engine) -> pa.Table:
    """Runs dispatched whose first job has not started yet (a run already retried is in
    ``runs_retrying``)."""
    return as_engine(con).table("""
        SELECT run_id, project, sample_id, input_kind, status_at AS dispatched_at
        FROM run_latest
        WHERE status = 'DISPATCHED' AND run_id NOT IN (SELECT run_id FROM decisions)
        ORDER BY status_at, run_id
    """)


def runs_retrying(con: Engine) -> pa.Table:
    """Open runs whose latest decision was a retry: the attempt that failed, why, and where the
    next one runs."""
    return as_engine(con).table("""
        SELECT l.run_id, l.project, l.sample_id, d.attempt AS failed_attempt, d.failure_kind,
               d.action, d.next_capacity, d.decided_at, d.reason
        FROM run_latest l
        JOIN (
            SELECT * FROM (
                SELECT d.*, row_number() OVER (PARTITION BY run_id
                                               ORDER BY attempt DESC, decided_at DESC) AS rn__
                FROM decisions d
            ) WHERE rn__ = 1
        ) d ON d.run_id = l.run_id
        WHERE l.status NOT IN ('SUCCEEDED', 'FAILED')
          AND d.action IN ('retry', 'retry_on_demand')
        ORDER BY d.decided_at, l.run_id
    """)


def quarantine_by_reason(con: Engine, since: datetime) -> pa.Table:
    """Quarantined inputs since ``since``, counted by stage and reason, with an example.

    Reasons name their input (a file, a sample, a number); those parts are folded to ``…`` so
    that the same problem with many inputs is one line.
    """
    return as_engine(con).table(r"""
        SELECT stage,
               regexp_replace(regexp_replace(reason,
                   '(s3|file)://[^ ,;)]+|''[^'']*''|"[^"]*"', '…', 'g'),
                   '[0-9]+', 'N', 'g') AS reason,
               count(*) AS inputs,
               min(source) AS example,
               max(quarantined_at) AS last_at
        FROM quarantine
        WHERE quarantined_at >= ?
        GROUP BY 1, 2
        ORDER BY inputs DESC, stage, reason
    """, [since])
