"""Sample QC for the dashboard's QC page: verdicts over time, failed checks, metric distributions
against their thresholds, and one sample's histograms and contig coverage.

Every function takes an ``Engine`` and an ``analytics.filters.Filters``. A gated run is counted on
the UTC day it finished (its ``run_latest`` status time; the gate's own time when the run is not
in the lake): the gate often runs in batches, and people ask "what did last week's runs look
like", not "what did the gate do on Tuesday". Tags come from the run (``run_latest``), falling
back to what the QC rows carry. The thresholds drawn are the ones recorded with each check in
``qc_results`` (the rules that judged these samples), not the current CSV, so a chart never shows
a threshold nobody was held to.

The counts (verdicts per day, totals) and the monthly metric distributions read the rollups
``qc_verdicts_daily`` and ``qc_metrics_monthly`` (``analytics.rollups``); the per-run tables (checks
not passed, each sample's values, one sample) read the facts through the view ``qc_gated``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from analytics.engine import Engine, as_engine, dedupe_sql
from analytics.filters import Columns, Filters, where
from lake.schemas import TABLES

if TYPE_CHECKING:
    import pyarrow as pa

SUITE = "sample_qc"
VERDICTS = ("pass", "review", "fail")

# The latest gate of each run with the run's tags and the time it is counted at (a view).
_GATED = "SELECT * FROM qc_gated"

COLUMNS = Columns(time="g.counted_at", project="g.project", cost_centre="g.cost_centre",
                  workflow="g.workflow", release="g.pipeline_release")
# The same filters on the daily rollup of verdicts (``qc_verdicts_daily``).
DAILY = Columns(time="day_at", month="month", project="project", cost_centre="cost_centre",
                workflow="workflow", release="pipeline_release")


def _gated(f: Filters) -> tuple[str, list[Any]]:
    """``(sql, params)`` of the gated runs ``f`` selects, as a subquery aliased ``g``."""
    cond, params = where(f, COLUMNS, prefix="WHERE")
    return f"(SELECT g.* FROM ({_GATED}) g {cond}) g", params


def verdicts_by_day(con: Engine, f: Filters) -> list[dict[str, Any]]:
    """``day, verdict, runs`` for the gated runs ``f`` selects (only days that have some)."""
    cond, params = where(f, DAILY, prefix="WHERE")
    return as_engine(con).rows(
        f"""
        SELECT CAST(CAST(day_at AS DATE) AS VARCHAR) AS day, verdict,
               CAST(sum(runs) AS BIGINT) AS runs
        FROM qc_verdicts_daily {cond}
        GROUP BY CAST(CAST(day_at AS DATE) AS VARCHAR), verdict
        ORDER BY day, verdict""",
        params,
    )


def verdict_series(rows: list[dict[str, Any]], grain: Literal["day", "week"],
                   start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    """Counts per period and verdict with every period from ``start`` to ``end`` (default: the
    rows' first and last day) and every verdict present, zeros included: a quiet day is drawn as
    a zero, not skipped. A week is named by its Monday."""
    days = [date.fromisoformat(r["day"]) for r in rows]
    lo, hi = start or (min(days) if days else None), end or (max(days) if days else None)
    if lo is None or hi is None:
        return []

    def period(d: date) -> date:
        return d - timedelta(days=d.weekday()) if grain == "week" else d

    counts: dict[tuple[date, str], int] = {}
    for r, d in zip(rows, days, strict=True):
        key = (period(d), r["verdict"])
        counts[key] = counts.get(key, 0) + int(r["runs"])
    step = timedelta(days=7 if grain == "week" else 1)
    out, p = [], period(lo)
    verdicts = [*VERDICTS] + sorted({r["verdict"] for r in rows} - set(VERDICTS))
    while p <= hi:
        out += [{"period": p.isoformat(), "verdict": v, "runs": counts.get((p, v), 0)}
                for v in verdicts]
        p += step
    return out


def verdict_totals(con: Engine, f: Filters) -> dict[str, int]:
    """Gated runs per verdict for ``f`` (every verdict present, zero when none)."""
    cond, params = where(f, DAILY, prefix="WHERE")
    rows = as_engine(con).rows(
        f"SELECT verdict, sum(runs) AS runs FROM qc_verdicts_daily {cond} GROUP BY verdict",
        params)
    return {v: 0 for v in VERDICTS} | {r["verdict"]: int(r["runs"]) for r in rows}


def _not_passed_sql() -> str:
    """CTE ``c``: the latest row of every check of ``sample_qc`` that did not pass at least once.

    The same rows as ``qc_results`` (its dedup) for those checks, without ranking the other
    million: a check whose latest row did not pass has a row that did not pass."""
    candidates = (f"(SELECT r.* FROM raw_qc_results r JOIN (SELECT DISTINCT run_id, check_id "
                  f"FROM raw_qc_results WHERE suite = '{SUITE}' AND check_id <> 'overall' "
                  "AND NOT passed) k ON k.run_id = r.run_id AND k.check_id = r.check_id "
                  f"WHERE r.suite = '{SUITE}')")
    return f"c AS ({dedupe_sql(TABLES['qc_results'], candidates)})"


def failed_checks(con: Engine, f: Filters, limit: int | None = None) -> tuple[pa.Table, int]:
    """Every check not passed by the latest gate of the runs ``f`` selects (the first ``limit``
    of them, worst and newest first): who, which check, the value seen against the threshold,
    and what it did to the verdict; with how many there are in all."""
    source, params = _gated(f)
    # The count rides on the rows (a window over the failed checks only): no second scan.
    table = as_engine(con).table(
        f"""
        WITH {_not_passed_sql()}
        SELECT g.sample_id, g.run_id, g.project, g.pipeline_release, c.check_id, c.metric_id,
               coalesce(CAST(round(c.observed_value, 4) AS VARCHAR), c.observed_text) AS value,
               c.threshold, c.severity, c.verdict AS check_verdict, g.verdict AS run_verdict,
               CAST(CAST(g.counted_at AS DATE) AS VARCHAR) AS day,
               count(*) OVER () AS of_all__
        FROM {source}
        JOIN c ON c.run_id = g.run_id AND c.evaluated_at = g.evaluated_at
        WHERE NOT c.passed
        ORDER BY CASE c.verdict WHEN 'fail' THEN 0 WHEN 'review' THEN 1 ELSE 2 END,
                 day DESC, g.sample_id, c.check_id"""
        + ("" if limit is None else f" LIMIT {int(limit)}"),
        params,
    )
    total = int(table.column("of_all__")[0].as_py()) if table.num_rows else 0
    return table.drop_columns(["of_all__"]), total


def metric_values(con: Engine, f: Filters) -> pa.Table:
    """One row per gated run and numeric check: the value each sample had for each gated metric,
    with the rule it was held to (``check_id, metric_id, value, threshold, severity,
    check_verdict, passed``) and the run's tags and verdict."""
    source, params = _gated(f)
    return as_engine(con).table(
        f"""
        SELECT g.sample_id, g.run_id, g.project, g.pipeline_release, g.verdict AS run_verdict,
               c.check_id, c.metric_id, c.observed_value AS value, c.threshold, c.severity,
               c.verdict AS check_verdict, c.passed
        FROM {source}
        JOIN qc_results c ON c.run_id = g.run_id AND c.suite = '{SUITE}'
                         AND c.evaluated_at = g.evaluated_at
        WHERE c.check_id <> 'overall' AND c.observed_value IS NOT NULL
        ORDER BY c.metric_id, c.check_id, g.sample_id, g.run_id""",
        params,
    )


# Bins of a metric's histogram beyond the strip limit: enough to see a shape and a tail.
BINS = 40
# A run's outcome on a metric: the worst of its checks of that metric (contamination has tiers).
_OUTCOMES = ("pass", "review", "fail")


def metric_bins(con: Engine, f: Filters, bins: int = BINS) -> dict[str, list[dict[str, Any]]]:
    """The gated metrics of the runs ``f`` selects, binned where the lake is (a year is a million
    values; a chart needs a few hundred bars). ``bins``: per metric, project, release, outcome
    (the worst its checks of that metric said) and bin ``i`` of ``bins`` equal bins from the
    selection's ``lo`` to ``hi``: ``runs``. ``rules``: ``metric_id, check_id, threshold`` of
    every numeric check, as recorded. The checks of one metric observe one value per run."""
    source, params = _gated(f)
    rank = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(_OUTCOMES))
    rows = as_engine(con).rows(
        f"""
        WITH c AS (
            SELECT g.run_id, g.project, g.pipeline_release, c.check_id, c.metric_id,
                   c.threshold, c.observed_value AS value,
                   CASE WHEN c.passed THEN 0 ELSE CASE c.verdict {rank} ELSE 0 END END AS rank
            FROM {source}
            JOIN qc_results c ON c.run_id = g.run_id AND c.suite = '{SUITE}'
                             AND c.evaluated_at = g.evaluated_at
            WHERE c.check_id <> 'overall' AND c.observed_value IS NOT NULL),
        v AS (SELECT run_id, project, pipeline_release, metric_id, max(value) AS value,
                     max(rank) AS rank
              FROM c GROUP BY run_id, project, pipeline_release, metric_id),
        r AS (SELECT metric_id, min(value) AS lo, max(value) AS hi FROM v GROUP BY metric_id)
        SELECT 'bin' AS kind, v.metric_id, v.project, v.pipeline_release, v.rank,
               CASE WHEN r.hi = r.lo THEN 0
                    ELSE least(CAST(floor((v.value - r.lo) / (r.hi - r.lo) * {int(bins)})
                                    AS INTEGER), {int(bins) - 1}) END AS i,
               min(r.lo) AS lo, min(r.hi) AS hi, count(*) AS runs,
               CAST(NULL AS VARCHAR) AS check_id, CAST(NULL AS VARCHAR) AS threshold
        FROM v JOIN r ON r.metric_id = v.metric_id
        GROUP BY v.metric_id, v.project, v.pipeline_release, v.rank,
                 CASE WHEN r.hi = r.lo THEN 0
                      ELSE least(CAST(floor((v.value - r.lo) / (r.hi - r.lo) * {int(bins)})
                                      AS INTEGER), {int(bins) - 1}) END
        UNION ALL
        SELECT DISTINCT 'rule', metric_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, check_id,
               threshold
        FROM c""",
        params,
    )
    out: dict[str, list[dict[str, Any]]] = {"bins": [], "rules": []}
    for r in rows:
        if r["kind"] == "rule":
            out["rules"].append({k: r[k] for k in ("metric_id", "check_id", "threshold")})
        else:
            out["bins"].append({
                "metric_id": r["metric_id"], "project": r["project"],
                "pipeline_release": r["pipeline_release"], "outcome": _OUTCOMES[r["rank"]],
                "i": int(r["i"]), "lo": r["lo"], "hi": r["hi"], "runs": int(r["runs"])})
    out["bins"].sort(key=lambda b: (b["metric_id"], b["project"] or "",
                                    b["pipeline_release"] or "", _OUTCOMES.index(b["outcome"]),
                                    b["i"]))
    out["rules"].sort(key=lambda r: (r["metric_id"], r["check_id"], r["threshold"] or ""))
    return out


# The same filters on the monthly metric distributions (``qc_metrics_monthly``): the range
# selects whole months (a distribution is per month).
MONTHLY = Columns(month="month", project="project", release="pipeline_release")


def fits_monthly(f: Filters) -> bool:
    """Whether ``qc_metrics_monthly`` answers for ``f`` exactly: no cost centre or workflow
    filter (it has neither) and a range of whole months, or none."""
    if f.cost_centre or f.workflow:
        return False
    if f.start is None and f.end is None:
        return True
    return (f.start is not None and f.end is not None and f.start.day == 1
            and (f.end + timedelta(days=1)).day == 1)


def metric_summary(con: Engine, f: Filters) -> list[dict[str, Any]]:
    """Per month, project, release and numeric check of the latest gates: ``runs, passed`` and the
    values' ``min, p10, p50, p90, max`` (``qc_metrics_monthly``; percentiles do not add up across
    months, so each month is its own row)."""
    cond, params = where(f, MONTHLY, prefix="WHERE")
    return as_engine(con).rows(
        f"""
        SELECT month, project, pipeline_release, check_id, metric_id, threshold, severity, runs,
               passed, min_value, p10_value, p50_value, p90_value, max_value
        FROM qc_metrics_monthly {cond}
        ORDER BY month, metric_id, check_id, project, pipeline_release""",
        params,
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """A numeric threshold as recorded with a check, e.g. ``>= 30``."""

    operator: str
    value: float


_RULE = re.compile(r"^\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


def parse_rule(text: str | None) -> Rule | None:
    """The rule of a numeric threshold text (``>= 30``, ``< 1``, ``>= 8e10``); None for other
    rules (``in XX, XY``) or text that is not one."""
    m = _RULE.match(text or "")
    if not m:
        return None
    try:
        return Rule(m.group(1), float(m.group(2)))
    except ValueError:
        return None


def gated_samples(con: Engine, f: Filters) -> list[dict[str, Any]]:
    """``sample_id, run_id, verdict, day`` of every gated run ``f`` selects, newest first."""
    source, params = _gated(f)
    return as_engine(con).rows(
        f"""
        SELECT g.sample_id, g.run_id, g.verdict,
               CAST(CAST(g.counted_at AS DATE) AS VARCHAR) AS day
        FROM {source} ORDER BY g.counted_at DESC, g.sample_id, g.run_id""",
        params,
    )


def sample_runs(con: Engine, sample_id: str) -> list[dict[str, Any]]:
    """Every run of one sample the lake has metrics or a verdict for, newest first: ``run_id,
    run_at, status, project, pipeline_release, verdict``. Not narrowed by the sidebar: a sample
    named in a link is shown whatever the filters say."""
    return as_engine(con).rows(
        f"""
        WITH m AS (SELECT run_id, max(sample_id) AS sample_id, max(run_at) AS run_at
                   FROM qc_metrics WHERE sample_id = ? GROUP BY run_id),
             v AS (SELECT run_id, sample_id, verdict, evaluated_at FROM qc_verdicts
                   WHERE suite = '{SUITE}' AND sample_id = ?),
             ids AS (SELECT run_id FROM m UNION SELECT run_id FROM v)
        SELECT ids.run_id, coalesce(m.run_at, r.status_at, v.evaluated_at) AS run_at,
               r.status, r.project, r.pipeline_release, v.verdict
        FROM ids
        LEFT JOIN m ON m.run_id = ids.run_id
        LEFT JOIN v ON v.run_id = ids.run_id
        LEFT JOIN run_latest r ON r.run_id = ids.run_id
        ORDER BY run_at DESC NULLS LAST, ids.run_id""",
        [sample_id, sample_id],
    )


def run_checks(con: Engine, run_id: str) -> pa.Table:
    """The checks of a run's latest gate (failed first), without 'overall'."""
    return as_engine(con).table(
        f"""
        SELECT c.check_id, c.metric_id,
               coalesce(CAST(round(c.observed_value, 4) AS VARCHAR), c.observed_text) AS value,
               c.threshold, c.severity, c.passed, c.verdict
        FROM qc_results c
        JOIN qc_verdicts v ON v.run_id = c.run_id AND v.suite = c.suite
                          AND v.evaluated_at = c.evaluated_at
        WHERE c.run_id = ? AND c.suite = '{SUITE}' AND c.check_id <> 'overall'
        ORDER BY c.passed, c.check_id""",
        [run_id],
    )


def run_metrics(con: Engine, run_id: str) -> list[dict[str, Any]]:
    """The run's clinically used metrics (the ``sample_qc`` view) as ``metric, value`` rows."""
    rows = as_engine(con).rows("SELECT * FROM sample_qc WHERE run_id = ?", [run_id])
    if not rows:
        return []
    skip = {"sample_id", "run_id", "run_at"}
    return [{"metric": k, "value": v} for k, v in rows[0].items()
            if k not in skip and v is not None]


def histograms(con: Engine, run_id: str) -> list[dict[str, Any]]:
    """The histograms the lake holds for a run: ``histogram, unit, bins, series``."""
    return as_engine(con).rows(
        """
        SELECT histogram, max(unit) AS unit, count(*) AS bins, count(DISTINCT series) AS series
        FROM qc_histograms WHERE run_id = ?
        GROUP BY histogram ORDER BY histogram""",
        [run_id],
    )


def histogram(con: Engine, run_id: str, name: str) -> pa.Table:
    """The bins of one histogram of a run: ``series, label, x, x_end, value, unit`` by x."""
    return as_engine(con).table(
        """
        SELECT series, read_group, label, x, x_end, value, unit
        FROM qc_histograms WHERE run_id = ? AND histogram = ?
        ORDER BY series, read_group, x, label""",
        [run_id, name],
    )


def contig_coverage(con: Engine, run_id: str) -> pa.Table:
    """Mean coverage per contig of a run (primary contigs and chrM first, the summary rows last),
    with each contig's depth against the autosomal mean (``relative_to_autosomes``)."""
    return as_engine(con).table(
        """
        WITH c AS (SELECT * FROM qc_contig_coverage WHERE run_id = ?),
             auto AS (SELECT max(mean_coverage_x) AS x FROM c
                      WHERE contig_kind = 'summary' AND lower(contig) LIKE 'autosom%')
        SELECT c.contig, c.contig_kind, c.aligned_bases, c.mean_coverage_x,
               c.mean_coverage_x / nullif(auto.x, 0) AS relative_to_autosomes
        FROM c CROSS JOIN auto
        ORDER BY CASE c.contig_kind WHEN 'primary' THEN 0 WHEN 'mito' THEN 1
                                    WHEN 'summary' THEN 3 ELSE 2 END,
                 c.line, c.contig""",
        [run_id],
    )
