"""Releases and their validations, for the CLI and the dashboard's Releases page.

Reads the deduplicated ``run_latest``, ``happy_metrics`` and ``release_validations`` views; every
function works on an empty lake (no rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

STATES = {"pass": "passed", "warn": "passed with warnings", "fail": "failed"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
          ) -> list[dict[str, Any]]:
    rel = con.execute(sql, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


_LATEST = """
    SELECT * FROM (
        SELECT v.*, row_number() OVER (PARTITION BY pipeline_release
                                       ORDER BY evaluated_at DESC, recorded_at DESC) AS rn__
        FROM release_validations v WHERE check_id = 'overall') WHERE rn__ = 1"""


def release_states(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every release the lake knows (from runs, hap.py results or validations), with its runs,
    reference samples and latest validation state, oldest first."""
    runs = {r["pipeline_release"]: r for r in _rows(con, """
        SELECT pipeline_release, count(*) AS runs, min(status_at) AS first_run_at,
               max(status_at) AS last_run_at
        FROM run_latest WHERE pipeline_release IS NOT NULL GROUP BY pipeline_release""")}
    happy = {r["pipeline_release"]: r for r in _rows(con, """
        SELECT pipeline_release, count(DISTINCT sample_id) AS samples,
               min(loaded_at) AS first_loaded_at
        FROM happy_metrics GROUP BY pipeline_release""")}
    latest = {r["pipeline_release"]: r for r in _rows(con, _LATEST)}

    def first_seen(release: str) -> Any:
        seen = [x for x in ((runs.get(release) or {}).get("first_run_at"),
                            (happy.get(release) or {}).get("first_loaded_at"),
                            (latest.get(release) or {}).get("evaluated_at")) if x is not None]
        return min(seen)

    out = []
    for release in sorted(set(runs) | set(happy) | set(latest), key=first_seen):
        v, r = latest.get(release), runs.get(release) or {}
        out.append({
            "release": release,
            "state": STATES.get(v["verdict"], v["verdict"]) if v else "not validated",
            "baseline": (v["baseline_release"] or None) if v else None,
            "validated_at": v["evaluated_at"].isoformat() if v else None,
            "report": v["report_uri"] if v else None,
            "reference_samples": (happy.get(release) or {}).get("samples", 0),
            "runs": r.get("runs", 0),
            "first_run_at": r["first_run_at"].isoformat() if r.get("first_run_at") else None,
            "last_run_at": r["last_run_at"].isoformat() if r.get("last_run_at") else None,
        })
    return out


def validation_checks(con: duckdb.DuckDBPyConnection, release: str) -> pa.Table:
    """The checks of the latest validation of ``release`` (failed first), without 'overall'."""
    return con.execute(f"""
        SELECT c.check_id, c.sample_id, c.metric, c.comparison, c.observed_value,
               c.baseline_value, c.threshold, c.severity, c.verdict, c.note
        FROM release_validations c
        JOIN ({_LATEST}) o ON o.validation_id = c.validation_id
        WHERE c.pipeline_release = ? AND c.check_id <> 'overall'
        ORDER BY c.passed, CASE c.verdict WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END,
                 c.check_id, c.sample_id""", [release]).to_arrow_table()


def release_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per release: runs by status, QC verdicts, median runtime (h) and cost per run, oldest first.

    Medians are taken here, not in SQL: DuckDB and Athena spell percentiles differently.
    """
    from statistics import median

    rows = _rows(con, """
        WITH cost AS (SELECT run_id, sum(cost_usd) AS cost_usd FROM costs GROUP BY run_id)
        SELECT r.pipeline_release AS release, r.status, r.status_at, v.verdict, c.cost_usd,
               q.total_runtime_s
        FROM run_latest r
        LEFT JOIN cost c ON c.run_id = r.run_id
        LEFT JOIN qc_verdicts v ON v.run_id = r.run_id
        LEFT JOIN sample_qc q ON q.run_id = r.run_id
        WHERE r.pipeline_release IS NOT NULL""")
    by_release: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["status_at"]):
        by_release.setdefault(r["release"], []).append(r)
    out = []
    for release, runs in by_release.items():
        costs = [r["cost_usd"] for r in runs if r["cost_usd"] is not None]
        hours = [r["total_runtime_s"] / 3600 for r in runs if r["total_runtime_s"] is not None]
        count = {k: sum(1 for r in runs if r["status"] == k or r["verdict"] == k)
                 for k in ("SUCCEEDED", "FAILED", "pass", "review", "fail")}
        out.append({"release": release, "runs": len(runs), "succeeded": count["SUCCEEDED"],
                    "failed": count["FAILED"], "qc_pass": count["pass"],
                    "qc_review": count["review"], "qc_fail": count["fail"],
                    "median_cost_usd": round(median(costs), 2) if costs else None,
                    "median_runtime_h": round(median(hours), 2) if hours else None})
    return out
