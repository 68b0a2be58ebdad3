"""Release validation: a candidate release against truth sets and the release it replaces.

1. The cohort: the reference samples with hap.py results under the candidate release.
2. The comparison table: one row per sample with each metric under the candidate, under the
   baseline, their difference and relative difference (``compare``, pure).
3. The gate: the reviewed thresholds (``release_thresholds``) as ONE Great Expectations validation
   over the comparison table (``judge``, pure): per-sample checks name the samples that fail them,
   cohort checks are medians of the per-sample differences.
4. The record: one ``release_validations`` row per check and sample plus an ``overall`` row, the GX
   result JSON and a self-contained HTML report under ``<lake>/reports/releases/``
   (``validate_release``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from expectations.release_thresholds import (
    HAPPY_COLUMNS,
    METRICS,
    ReleaseCheck,
    ReleaseThresholds,
    load_release_thresholds,
)
from lake.errors import ConfigError, TerminalError
from lake.settings import Settings
from lake.store import LakeStore

if TYPE_CHECKING:
    import pandas as pd

REPORTS_DIR = "reports/releases"
VERDICTS = ("pass", "warn", "fail")  # in order of severity
Values = Mapping[str, Mapping[str, float | None]]  # sample -> metric -> value


@dataclass(frozen=True)
class ReleaseResult:
    """The outcome of one release validation."""

    release: str
    baseline: str | None
    thresholds: ReleaseThresholds
    evaluated_at: datetime
    samples: tuple[str, ...]
    rows: list[dict[str, Any]]  # release_validations rows; the last is 'overall'
    frame: Any  # the comparison table (pandas), for the report
    validation: dict[str, Any] = field(default_factory=dict)
    report_uri: str | None = None
    dragen_versions: dict[str, str] = field(default_factory=dict)  # release -> DRAGEN version

    @property
    def verdict(self) -> str:
        return self.rows[-1]["verdict"]

    def failed(self, verdict: str | None = None) -> list[dict[str, Any]]:
        """The check rows that did not pass (with one verdict, ``fail`` or ``warn``, or all)."""
        return [r for r in self.rows[:-1] if not r["passed"]
                and (verdict is None or r["verdict"] == verdict)]


# -- the comparison table -------------------------------------------------------------------------

def compare(new: Values, base: Values | None, samples: Sequence[str]) -> pd.DataFrame:
    """One row per sample: each metric under the release, the baseline, Δ and Δ/baseline."""
    import pandas as pd

    records = []
    for sample in samples:
        rec: dict[str, Any] = {"sample_id": sample,
                               "has_baseline": bool(base and sample in base)}
        for metric in METRICS:
            v = _num((new.get(sample) or {}).get(metric))
            b = _num((base or {}).get(sample, {}).get(metric)) if base else None
            rec[metric], rec[f"{metric}__base"] = v, b
            rec[f"{metric}__delta"] = v - b if v is not None and b is not None else None
            rec[f"{metric}__rel"] = ((v - b) / abs(b) if v is not None and b not in (None, 0)
                                     else (0.0 if v == b == 0 else None))
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for col in frame.columns:
        if col not in ("sample_id", "has_baseline"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


# -- the gate -------------------------------------------------------------------------------------

def judge(frame: pd.DataFrame, thresholds: ReleaseThresholds, *, release: str,
          baseline: str | None, evaluated_at: datetime | None = None) -> ReleaseResult:
    """Run the thresholds over the comparison table as one GX validation; no lake I/O."""
    evaluated_at = evaluated_at or datetime.now(UTC)
    samples = tuple(frame["sample_id"])
    if not samples:
        raise TerminalError(f"release {release}: no reference sample to validate")
    runnable = [c for c in thresholds.checks if baseline or not c.needs_baseline]
    validation = _validate(frame, runnable) if runnable else {}
    outcome = _outcomes(validation)
    vid = hashlib.sha256(f"{release}\x1f{baseline}\x1f{evaluated_at.isoformat()}".encode()
                         ).hexdigest()[:16]
    common = {"validation_id": vid, "pipeline_release": release,
              "baseline_release": baseline or "", "suite_version": thresholds.version,
              "evaluated_at": evaluated_at, "report_uri": None}
    rows: list[dict[str, Any]] = []
    for check in thresholds.checks:
        rows += _check_rows(check, frame, outcome, baseline, common)
    worst = max((r["verdict"] for r in rows), key=VERDICTS.index, default="pass")
    failed = [r for r in rows if not r["passed"]]
    note = "; ".join(f"{r['check_id']} ({r['sample_id']})" for r in failed[:12])
    if len(failed) > 12:
        note += f"; and {len(failed) - 12} more"
    rows.append({**common, "check_id": "overall", "sample_id": "*", "metric": None,
                 "comparison": None, "observed_value": float(len(failed)),
                 "baseline_value": None, "passed": worst != "fail", "severity": None,
                 "verdict": worst,
                 "threshold": f"worst of {len(thresholds.checks)} checks on {len(samples)} "
                              f"sample(s) ({thresholds.version})",
                 "note": note or "all checks passed"})
    return ReleaseResult(release, baseline, thresholds, evaluated_at, samples, rows, frame,
                         validation)


def _check_rows(check: ReleaseCheck, frame: pd.DataFrame, outcome: dict[str, Any],
                baseline: str | None, common: dict[str, Any]) -> list[dict[str, Any]]:
    base = {**common, "check_id": check.check_id, "metric": check.metric,
            "comparison": check.comparison, "threshold": check.threshold_text,
            "severity": check.severity}
    failed_verdict = "fail" if check.severity == "fail" else "warn"
    if check.needs_baseline and not baseline:
        return [{**base, "sample_id": "*", "observed_value": None, "baseline_value": None,
                 "passed": False, "verdict": "warn",
                 "note": "no baseline release: only the truth-set floors were checked"}]
    if check.cohort:
        values = frame[check.column].dropna()
        if values.empty:
            return [{**base, "sample_id": "*", "observed_value": None, "baseline_value": None,
                     "passed": False, "verdict": failed_verdict,
                     "note": f"no sample has {check.metric} under both releases"}]
        ok, observed = outcome[check.check_id]
        return [{**base, "sample_id": "*", "observed_value": _num(observed),
                 "baseline_value": _num(frame[f"{check.metric}__base"].median()),
                 "passed": ok, "verdict": "pass" if ok else failed_verdict,
                 "note": None if ok else f"median {_fmt(observed)} breaks {check.threshold_text}"}]
    unexpected = outcome.get(check.check_id, set())
    missing = outcome.get(f"presence:{check.column}", set())
    rows = []
    for rec in frame.to_dict("records"):
        sample = rec["sample_id"]
        value = _num(rec[check.column])
        if sample in missing or value is None:
            why = ("not run under the baseline" if check.needs_baseline
                   and not rec["has_baseline"] else f"{check.metric} missing")
            passed, note = False, why
        else:
            passed = sample not in unexpected
            note = None if passed else f"{_fmt(value)} breaks {check.threshold_text}"
        rows.append({**base, "sample_id": sample, "observed_value": value,
                     "baseline_value": _num(rec.get(f"{check.metric}__base")),
                     "passed": passed, "verdict": "pass" if passed else failed_verdict,
                     "note": note})
    return rows


def _fmt(value: Any) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{v:.6g}"


def build_suite(checks: Sequence[ReleaseCheck], name: str = "release_validation"):
    """One GX expectation per check (and a not-null per per-sample column it reads)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name)
    columns: list[str] = []
    for check in checks:
        bound = {">=": {"min_value": check.value},
                 ">": {"min_value": check.value, "strict_min": True},
                 "<=": {"max_value": check.value},
                 "<": {"max_value": check.value, "strict_max": True}}[check.operator]
        common = {"column": check.column, "meta": {"check_id": check.check_id},
                  "severity": "critical" if check.severity == "fail" else "warning"}
        if check.cohort:
            suite.add_expectation(gxe.ExpectColumnMedianToBeBetween(**bound, **common))
        else:
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(**bound, **common))
            columns.append(check.column)
    for column in dict.fromkeys(columns):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=column, meta={"presence_of": column}))
    return suite


def _validate(frame: pd.DataFrame, checks: Sequence[ReleaseCheck]) -> dict[str, Any]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("release_frames")
             .add_dataframe_asset(name="release_comparison")
             .add_batch_definition_whole_dataframe("cohort"))
    # Cohort checks over a column with no value at all are reported without GX (it would raise).
    usable = [c for c in checks if not c.cohort or frame[c.column].notna().any()]
    suite = context.suites.add(build_suite(usable))
    vd = context.validation_definitions.add(
        gx.ValidationDefinition(name="release_validation", data=batch, suite=suite))
    result = vd.run(batch_parameters={"dataframe": frame},
                    result_format={"result_format": "COMPLETE",
                                   "unexpected_index_column_names": ["sample_id"],
                                   "return_unexpected_index_query": False})
    return json.loads(json.dumps(result.to_json_dict(), default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _outcomes(validation: dict[str, Any]) -> dict[str, Any]:
    """check_id -> failing samples (per-sample) or (success, observed) (cohort);
    ``presence:<column>`` -> samples missing the column."""
    out: dict[str, Any] = {}
    for res in validation.get("results", []):
        meta = res["expectation_config"].get("meta") or {}
        info = res.get("exception_info") or {}
        errors = [info] if "raised_exception" in info else list(info.values())
        raised = [e.get("exception_message") for e in errors if e.get("raised_exception")]
        name = meta.get("check_id") or f"presence:{meta.get('presence_of')}"
        if raised:
            raise TerminalError(f"release check {name} could not be evaluated: {raised[0]}")
        result = res.get("result") or {}
        if res["expectation_config"]["type"] == "expect_column_median_to_be_between":
            out[name] = (bool(res["success"]), result.get("observed_value"))
        else:
            out[name] = {u["sample_id"] for u in result.get("unexpected_index_list") or []}
    return out


# -- lake edges -----------------------------------------------------------------------------------

def _table(con, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    rel = con.execute(sql, list(params))
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _in(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def read_values(con, release: str, samples: Sequence[str]) -> tuple[dict[str, dict], str | None]:
    """Every comparable metric of ``samples`` under ``release``; and the release's DRAGEN version.

    QC metrics and cost come from the release's latest successful run of each sample.
    """
    out: dict[str, dict[str, float | None]] = {s: {} for s in samples}
    if not samples:
        return out, None
    rows = _table(con, f"""
        SELECT sample_id, variant_type, f1_score, recall, precision, truth_fn, query_fp
        FROM happy_metrics
        WHERE pipeline_release = ? AND filter = 'PASS' AND subtype = '*' AND subset = '*'
          AND genotype = '*' AND sample_id IN ({_in(samples)})""", [release, *samples])
    for r in rows:
        for short, column in HAPPY_COLUMNS.items():
            out[r["sample_id"]][f"{r['variant_type'].lower()}_pass_{short}"] = r[column]
    qc_cols = [m for m, (src, _, _) in METRICS.items() if src == "qc"]
    rows = _table(con, f"""
        SELECT s.sample_id, s.run_id, s.dragen_version, r.status_at,
               {', '.join(f's.{c}' for c in qc_cols)}
        FROM sample_qc s JOIN run_latest r ON r.run_id = s.run_id
        WHERE r.pipeline_release = ? AND r.status = 'SUCCEEDED'
          AND s.sample_id IN ({_in(samples)})
        ORDER BY r.status_at""", [release, *samples])
    runs: dict[str, str] = {}
    version = None
    for r in rows:  # the latest run of each sample wins
        runs[r["sample_id"]] = r["run_id"]
        out[r["sample_id"]].update({c: r[c] for c in qc_cols})
        version = r["dragen_version"] or version
    if runs:
        costs = _table(con, f"""
            SELECT run_id, sum(cost_usd) AS cost_usd FROM costs
            WHERE run_id IN ({_in(list(runs.values()))}) GROUP BY run_id""", list(runs.values()))
        by_run = {c["run_id"]: c["cost_usd"] for c in costs}
        for sample, run in runs.items():
            out[sample]["cost_usd"] = by_run.get(run)
    return out, version


def cohort(con, release: str) -> list[str]:
    """The reference samples with hap.py results under ``release``."""
    return [r["sample_id"] for r in _table(con, """
        SELECT DISTINCT sample_id FROM happy_metrics WHERE pipeline_release = ?
        ORDER BY sample_id""", [release])]


def default_baseline(con, release: str, samples: Sequence[str]) -> str | None:
    """The release this one replaces: the latest other release that passed validation, else the
    newest release seen before this one (by its first run or hap.py load) on the same samples."""
    passed = _table(con, """
        SELECT pipeline_release FROM release_validations
        WHERE check_id = 'overall' AND verdict IN ('pass', 'warn') AND pipeline_release <> ?
        ORDER BY evaluated_at DESC LIMIT 1""", [release])
    if passed:
        return passed[0]["pipeline_release"]
    if not samples:
        return None
    seen = {r["pipeline_release"]: r["first_seen_at"] for r in _table(con, f"""
        SELECT pipeline_release, min(first_seen_at) AS first_seen_at FROM (
            SELECT pipeline_release, min(loaded_at) AS first_seen_at FROM happy_metrics
            WHERE sample_id IN ({_in(samples)}) GROUP BY pipeline_release
            UNION ALL
            SELECT pipeline_release, min(status_at) AS first_seen_at FROM run_latest
            WHERE sample_id IN ({_in(samples)}) GROUP BY pipeline_release)
        WHERE pipeline_release IS NOT NULL GROUP BY pipeline_release""",
        [*samples, *samples])}
    mine = seen.pop(release, None)
    older = [(at, r) for r, at in seen.items() if mine is None or at < mine]
    return max(older)[1] if older else None


def known_releases(con) -> set[str]:
    rows = _table(con, """
        SELECT pipeline_release FROM run_latest WHERE pipeline_release IS NOT NULL
        UNION SELECT pipeline_release FROM happy_metrics""")
    return {r["pipeline_release"] for r in rows}


def validate_release(store: LakeStore, settings: Settings, release: str, *,
                     baseline: str | None = None,
                     thresholds: ReleaseThresholds | None = None,
                     evaluated_at: datetime | None = None) -> ReleaseResult:
    """Validate ``release`` from the lake and record the result and its report.

    Raises:
        ConfigError: the release (or the baseline) is unknown, or has no hap.py results.
    """
    from analytics.engine import connect

    thresholds = thresholds or load_release_thresholds()
    con = connect(settings, store)
    samples = cohort(con, release)
    if not samples:
        known = sorted(known_releases(con))
        raise ConfigError(
            f"release {release}: no hap.py results in the lake; load them with `seqledger "
            f"ingest happy DIR --release {release}` or pass --happy DIR"
            + (f" (releases with data: {', '.join(known)})" if known else ""))
    if baseline is None:
        baseline = default_baseline(con, release, samples)
    elif baseline == release:
        raise ConfigError(f"--baseline {baseline} is the release being validated")
    elif baseline not in known_releases(con):
        raise ConfigError(f"baseline release {baseline}: nothing in the lake ran under it")
    new, version = read_values(con, release, samples)
    base, base_version = read_values(con, baseline, samples) if baseline else ({}, None)
    base = {s: v for s, v in base.items() if any(x is not None for x in v.values())}
    frame = compare(new, base if baseline else None, samples)
    result = judge(frame, thresholds, release=release, baseline=baseline,
                   evaluated_at=evaluated_at)
    versions = {k: v for k, v in ((release, version), (baseline, base_version)) if k and v}
    result = replace(result, dragen_versions=versions)
    report = _write_report(store, result)
    rows = [{**r, "report_uri": report} for r in result.rows]
    store.write("release_validations", rows)
    return replace(result, rows=rows, report_uri=report)


def _write_report(store: LakeStore, result: ReleaseResult) -> str:
    from expectations.release_report import render_release_html

    stamp = result.evaluated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in result.release)
    folder = f"{store.root}/{REPORTS_DIR}/{safe}"
    store.fs.create_dir(folder, recursive=True)
    base = f"{folder}/{stamp}"
    for path, text in ((f"{base}.json", json.dumps(result.validation, indent=1)),
                       (f"{base}.html", render_release_html(result))):
        with store.fs.open_output_stream(path) as out:
            out.write(text.encode("utf-8"))
    prefix = "s3://" if store.settings.lake_is_s3 else ""
    return f"{prefix}{base}.html"
