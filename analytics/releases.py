"""Releases and their validations, for the CLI and the dashboard's Releases page.

The runs of each release, with their verdict, cost, runtime and compared QC metrics, are read from
the ``release_runs`` rollup (one row a run: ``analytics.rollups``; a seed-scale year has 140,000
runs against 30 M attempt, 18 M cost and 12 M QC metric rows), so the page's counts, medians and
release-against-release distributions never scan the facts. ``happy_metrics`` and
``release_validations`` are small and read as they are. Through an ``analytics.engine.Engine`` (or
a DuckDB connection); every function works on an empty lake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analytics.engine import Engine, as_engine
from analytics.filters import Columns, Filters, where
from lake.schemas_rollup import RELEASE_METRICS

if TYPE_CHECKING:
    import pyarrow as pa

STATES = {"pass": "passed", "warn": "passed with warnings", "fail": "failed"}


def _rows(con: Engine, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return as_engine(con).rows(sql, params or [])


_LATEST = """
    SELECT * FROM (
        SELECT v.*, row_number() OVER (PARTITION BY pipeline_release
                                       ORDER BY evaluated_at DESC, recorded_at DESC) AS rn__
        FROM release_validations v WHERE check_id = 'overall') WHERE rn__ = 1"""


def release_states(con: Engine) -> list[dict[str, Any]]:
    """Every release the lake knows (from runs, hap.py results or validations), with its runs,
    reference samples and latest validation state, oldest first."""
    runs = {
        r["pipeline_release"]: r
        for r in _rows(
            con,
            """
        SELECT pipeline_release, count(*) AS runs, min(status_at) AS first_run_at,
               max(status_at) AS last_run_at
        FROM release_runs WHERE pipeline_release IS NOT NULL GROUP BY pipeline_release""",
        )
    }
    happy = {
        r["pipeline_release"]: r
        for r in _rows(
            con,
            """
        SELECT pipeline_release, count(DISTINCT sample_id) AS samples,
               min(loaded_at) AS first_loaded_at
        FROM happy_metrics GROUP BY pipeline_release""",
        )
    }
    latest = {r["pipeline_release"]: r for r in _rows(con, _LATEST)}

    def first_seen(release: str) -> Any:
        seen = [
            x
            for x in (
                (runs.get(release) or {}).get("first_run_at"),
                (happy.get(release) or {}).get("first_loaded_at"),
                (latest.get(release) or {}).get("evaluated_at"),
            )
            if x is not None
        ]
        return min(seen)

    out = []
    for release in sorted(set(runs) | set(happy) | set(latest), key=first_seen):
        v, r = latest.get(release), runs.get(release) or {}
        out.append(
            {
                "release": release,
                "state": STATES.get(v["verdict"], v["verdict"]) if v else "not validated",
                "baseline": (v["baseline_release"] or None) if v else None,
                "validated_at": v["evaluated_at"].isoformat() if v else None,
                "report": v["report_uri"] if v else None,
                "reference_samples": (happy.get(release) or {}).get("samples", 0),
                "runs": r.get("runs", 0),
                "first_run_at": r["first_run_at"].isoformat() if r.get("first_run_at") else None,
                "last_run_at": r["last_run_at"].isoformat() if r.get("last_run_at") else None,
            }
        )
    return out


def validation_checks(con: Engine, release: str) -> pa.Table:
    """The checks of the latest validation of ``release`` (failed first), without 'overall'."""
    return as_engine(con).table(f"""
        SELECT c.check_id, c.sample_id, c.metric, c.comparison, c.observed_value,
               c.baseline_value, c.threshold, c.severity, c.verdict, c.note
        FROM release_validations c
        JOIN ({_LATEST}) o ON o.validation_id = c.validation_id
        WHERE c.pipeline_release = ? AND c.check_id <> 'overall'
        ORDER BY c.passed, CASE c.verdict WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END,
                 c.check_id, c.sample_id""", [release])


def release_runs(con: Engine) -> list[dict[str, Any]]:
    """Per release: runs by status, QC verdicts, median runtime (h) and cost per run, oldest first.

    Medians are taken here, not in SQL: DuckDB and Athena spell percentiles differently.
    """
    from statistics import median

    rows = _rows(
        con,
        """
        WITH cost AS (SELECT run_id, sum(cost_usd) AS cost_usd FROM costs GROUP BY run_id)
        SELECT r.pipeline_release AS release, r.status, r.status_at, v.verdict, c.cost_usd,
               q.total_runtime_s
        FROM run_latest r
        LEFT JOIN cost c ON c.run_id = r.run_id
        LEFT JOIN qc_verdicts v ON v.run_id = r.run_id
        LEFT JOIN sample_qc q ON q.run_id = r.run_id
        WHERE r.pipeline_release IS NOT NULL""",
    )
    by_release: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["status_at"]):
        by_release.setdefault(r["release"], []).append(r)
    out = []
    for release, runs in by_release.items():
        costs = [r["cost_usd"] for r in runs if r["cost_usd"] is not None]
        hours = [r["total_runtime_s"] / 3600 for r in runs if r["total_runtime_s"] is not None]
        count = {
            k: sum(1 for r in runs if r["status"] == k or r["verdict"] == k)
            for k in ("SUCCEEDED", "FAILED", "pass", "review", "fail")
        }
        out.append(
            {
                "release": release,
                "runs": len(runs),
                "succeeded": count["SUCCEEDED"],
                "failed": count["FAILED"],
                "qc_pass": count["pass"],
                "qc_review": count["review"],
                "qc_fail": count["fail"],
                "median_cost_usd": round(median(costs), 2) if costs else None,
                "median_runtime_h": round(median(hours), 2) if hours else None,
            }
        )
    return out


# The sample_qc columns compared between releases (numbers a bioinformatics lead reads).
COMPARED_METRICS = RELEASE_METRICS

# ``month`` prunes the rollup's partitions when the range is closed
RUN_COLUMNS = Columns(time="status_at", month="month", project="project",
                      cost_centre="cost_centre", workflow="workflow", release="pipeline_release")


def release_samples(con: Engine, f: Filters) -> pa.Table:
    """One row per run with a release that ``f`` selects: its sample, status, QC verdict,
    estimated cost (USD), DRAGEN runtime (h) and the compared QC metrics, oldest first."""
    cond, params = where(f, RUN_COLUMNS)
    return as_engine(con).table(
        f"""
        SELECT pipeline_release, sample_id, run_id, project, status,
               CAST(CAST(status_at AS DATE) AS VARCHAR) AS day, verdict, cost_usd, runtime_h,
               {", ".join(COMPARED_METRICS)}
        FROM release_runs
        WHERE pipeline_release IS NOT NULL {cond}
        ORDER BY status_at, run_id""",
        params,
    )


def release_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per release, from ``release_samples`` rows: runs, samples, QC verdicts, and the median
    cost and runtime per run. Medians in Python: DuckDB and Athena spell percentiles apart."""
    from statistics import median

    by_release: dict[str, list[dict[str, Any]]] = {}
    for r in rows:  # one pass, in the rows' order: a year has 140,000 runs
        by_release.setdefault(r["pipeline_release"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for release, mine in by_release.items():
        costs = [r["cost_usd"] for r in mine if r["cost_usd"] is not None]
        hours = [r["runtime_h"] for r in mine if r["runtime_h"] is not None]
        out[release] = {
            "runs": len(mine),
            "samples": len({r["sample_id"] for r in mine}),
            **{f"qc_{v}": sum(1 for r in mine if r["verdict"] == v)
               for v in ("pass", "review", "fail")},
            "median_cost_usd": round(median(costs), 2) if costs else None,
            "median_runtime_h": round(median(hours), 2) if hours else None,
        }
    return out
