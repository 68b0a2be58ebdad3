"""The per-sample QC gate: reviewed thresholds -> a Great Expectations suite -> ``qc_results`` rows.

All runs of a batch go through ONE validation (GX is slow to import, fast to run), with
``result_format=COMPLETE`` and ``run_id`` as the index column, so every failing run is named.
GX's column expectations skip NULLs, so each checked metric also gets a not-null expectation:
a missing metric fails its checks ("metric missing"); it never passes silently.

``gate`` is pure (rows in, rows and verdicts out); ``run_gate`` reads the ``sample_qc`` view and
writes ``qc_results`` plus a readable report under ``<lake>/reports/qc/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from expectations.qc_thresholds import Check, Thresholds, load_thresholds, worst
from lake.errors import ConfigError, SchemaError, TerminalError
from lake.settings import Settings
from lake.store import LakeStore

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

SUITE = "sample_qc"
# Columns copied from the frame onto every result row: what was judged, not what was checked.
PASSTHROUGH = ("project", "pipeline_release", "dragen_version")
REPORTS_DIR = "reports/qc"
MISSING = "metric missing"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate run over a batch of runs."""

    suite: str
    suite_version: str
    evaluated_at: datetime
    rows: list[dict[str, Any]]  # qc_results rows: one per (run, check) and one 'overall' per run
    verdicts: dict[str, str]  # run_id -> pass | review | fail
    validation: dict[str, Any] = field(default_factory=dict)  # the GX result, as JSON
    not_found: tuple[str, ...] = ()  # asked-for runs that have no QC metrics
    rows_written: int = 0
    report_uri: str | None = None

    def counts(self) -> dict[str, int]:
        """How many runs got each verdict (all three keys present)."""
        out = {"pass": 0, "review": 0, "fail": 0}
        for v in self.verdicts.values():
            out[v] += 1
        return out

    def overall(self) -> list[dict[str, Any]]:
        """The 'overall' row of each run, in run order."""
        return [r for r in self.rows if r["check_id"] == "overall"]


def gate(frame_rows: pa.Table | pd.DataFrame, thresholds: Thresholds | None = None,
         evaluated_at: datetime | None = None) -> GateResult:
    """Validate ``sample_qc`` rows against the thresholds; no lake I/O.

    ``frame_rows`` needs ``run_id``, ``sample_id`` and every metric the thresholds check
    (``project`` is copied through when present).

    Raises:
        SchemaError: a required column is missing, a run repeats, or a metric is not numeric.
        TerminalError: Great Expectations could not evaluate a check.
    """
    thresholds = thresholds or load_thresholds()
    evaluated_at = evaluated_at or datetime.now(UTC)
    df = _frame(frame_rows, thresholds)
    if df.empty:
        return GateResult(SUITE, thresholds.version, evaluated_at, [], {})
    validation = _validate(df, thresholds)
    failing = unexpected_runs(validation)
    rows, verdicts = [], {}
    for rec in df.to_dict("records"):
        run_rows = _run_rows(rec, thresholds, failing, evaluated_at)
        rows.extend(run_rows)
        verdicts[rec["run_id"]] = run_rows[-1]["verdict"]
    return GateResult(SUITE, thresholds.version, evaluated_at, rows, verdicts, validation)


def run_gate(store: LakeStore, settings: Settings, run_ids: Iterable[str] | None = None,
             thresholds: Thresholds | None = None, evaluated_at: datetime | None = None
             ) -> GateResult:
    """Gate runs from the lake and record the results (one ``qc_results`` write per call).

    Without ``run_ids``: every run in ``sample_qc`` that has no result for this suite yet.
    With them: exactly those runs (ids with no QC metrics are returned in ``not_found``).
    """
    from analytics.engine import connect

    thresholds = thresholds or load_thresholds()
    con = connect(settings, store)
    wanted = None if run_ids is None else list(dict.fromkeys(run_ids))
    frame = _read_sample_qc(con, thresholds, wanted)
    found = set(frame.column("run_id").to_pylist())
    not_found = tuple(r for r in wanted or () if r not in found)
    result = replace(gate(frame, thresholds, evaluated_at), not_found=not_found)
    if not result.rows:
        return result
    written = store.write("qc_results", result.rows)
    report = _write_report(store, result, thresholds)
    return replace(result, rows_written=written.rows_written, report_uri=report)


# -- the frame -------------------------------------------------------------------------------------

def _frame(frame_rows: pa.Table | pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """A pandas frame with the needed columns, numeric metrics as float and NULLs as NaN/None."""
    import pandas as pd
    import pyarrow as pa

    df = frame_rows.to_pandas() if isinstance(frame_rows, pa.Table) else frame_rows.copy()
    needed = ["run_id", "sample_id", *thresholds.metrics]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise SchemaError(f"sample_qc rows lack column(s) {absent}; need {needed}")
    for passthrough in PASSTHROUGH:
        if passthrough not in df.columns:
            df[passthrough] = None
    df = df[[*needed, *(c for c in PASSTHROUGH if c not in needed)]]
    if df["run_id"].isna().any() or df["sample_id"].isna().any():
        raise SchemaError("sample_qc rows with an empty run_id or sample_id")
    dupes = sorted(set(df.loc[df["run_id"].duplicated(), "run_id"]))
    if dupes:
        raise SchemaError(f"sample_qc has more than one row for run(s) {dupes[:5]}")
    for check in thresholds.checks:
        if not isinstance(check.value, tuple):
            try:
                df[check.metric] = pd.to_numeric(df[check.metric], errors="raise").astype("float64")
            except (TypeError, ValueError) as e:
                raise SchemaError(f"sample_qc column {check.metric} is not numeric: {e}") from e
    return df.reset_index(drop=True)


# -- Great Expectations ----------------------------------------------------------------------------

def build_suite(thresholds: Thresholds, name: str = SUITE):
    """The GX suite for the thresholds: one expectation per check, one not-null per metric.

    Each expectation's ``meta`` names its check (``check_id``) or the metric whose presence it
    checks (``presence_of``), which is how results are mapped back to checks.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name, meta={"thresholds": thresholds.version,
                                                 "thresholds_file": thresholds.path})
    for check in thresholds.checks:
        suite.add_expectation(_expectation(check))
    for metric in thresholds.metrics:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=metric, meta={"presence_of": metric}, severity="critical"))
    return suite


def _expectation(check: Check):
    import great_expectations.expectations as gxe

    common = {"column": check.metric, "meta": {"check_id": check.check_id, "source": check.source},
              "severity": "critical" if check.severity == "fail" else "warning"}
    if isinstance(check.value, tuple):
        return gxe.ExpectColumnValuesToBeInSet(value_set=list(check.value), **common)
    bound = {">=": {"min_value": check.value},
             ">": {"min_value": check.value, "strict_min": True},
             "<=": {"max_value": check.value},
             "<": {"max_value": check.value, "strict_max": True}}[check.operator]
    return gxe.ExpectColumnValuesToBeBetween(**bound, **common)


def _validate(df: pd.DataFrame, thresholds: Thresholds) -> dict[str, Any]:
    """Run the suite over all rows at once; the GX result as a JSON dict."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("sample_qc_frames")
             .add_dataframe_asset(name="sample_qc")
             .add_batch_definition_whole_dataframe("all_rows"))
    suite = context.suites.add(build_suite(thresholds))
    vd = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{SUITE}_{thresholds.version}", data=batch, suite=suite))
    result = vd.run(
        batch_parameters={"dataframe": df[["run_id", *thresholds.metrics]]},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["run_id"],
                       "return_unexpected_index_query": False},
    )
    # Round-trip through JSON: plain types only (numpy scalars become floats), ready to store.
    return json.loads(json.dumps(result.to_json_dict(), default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def unexpected_runs(validation: dict[str, Any]) -> dict[str, set[str]]:
    """From a GX result: check_id (or ``presence:<metric>``) -> the run_ids that failed it.

    Raises:
        TerminalError: an expectation raised instead of evaluating (a failure we cannot attribute).
    """
    out: dict[str, set[str]] = {}
    for res in validation.get("results", []):
        meta = res["expectation_config"].get("meta") or {}
        name = meta.get("check_id") or f"presence:{meta.get('presence_of')}"
        info = res.get("exception_info") or {}
        errors = [info] if "raised_exception" in info else list(info.values())
        raised = [e.get("exception_message") for e in errors if e.get("raised_exception")]
        if raised:
            raise TerminalError(f"QC check {name} could not be evaluated: {raised[0]}")
        out[name] = {u["run_id"] for u in res["result"].get("unexpected_index_list") or []}
    return out


# -- qc_results rows -------------------------------------------------------------------------------

def _run_rows(rec: dict[str, Any], thresholds: Thresholds, failing: dict[str, set[str]],
              evaluated_at: datetime) -> list[dict[str, Any]]:
    run_id = rec["run_id"]
    base = {"sample_id": rec["sample_id"], "run_id": run_id, "project": _text(rec.get("project")),
            "suite": SUITE, "suite_version": thresholds.version, "evaluated_at": evaluated_at,
            "pipeline_release": _text(rec.get("pipeline_release")),
            "dragen_version": _text(rec.get("dragen_version"))}
    rows, failed_by_verdict = [], {"fail": [], "review": [], "warn": []}
    for check in thresholds.checks:
        observed = rec[check.metric]
        missing = run_id in failing[f"presence:{check.metric}"]
        passed = not missing and run_id not in failing[check.check_id]
        is_text = isinstance(check.value, tuple)
        text = MISSING if missing else (_text(observed) if is_text else None)
        rows.append({**base, "check_id": check.check_id, "metric_id": check.metric,
                     "observed_value": None if (missing or is_text) else float(observed),
                     "observed_text": text,
                     "threshold": check.threshold_text, "passed": passed,
                     "severity": check.severity,
                     "verdict": "pass" if passed else check.verdict_if_failed})
        if not passed:
            key = "warn" if check.severity == "warn" else check.verdict_if_failed
            failed_by_verdict[key].append(check.check_id + (" (missing)" if missing else ""))
    verdict = worst([r["verdict"] for r in rows])
    summary = "; ".join(f"{k}: {', '.join(v)}" for k, v in failed_by_verdict.items() if v)
    rows.append({**base, "check_id": "overall", "metric_id": None,
                 "observed_value": float(sum(not r["passed"] for r in rows)),
                 "observed_text": summary or "all checks passed",
                 "threshold": f"worst of {len(thresholds.checks)} checks ({thresholds.version})",
                 "passed": verdict == "pass", "severity": None, "verdict": verdict})
    return rows


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


# -- lake edges ------------------------------------------------------------------------------------

def _read_sample_qc(con, thresholds: Thresholds, run_ids: list[str] | None) -> pa.Table:
    import duckdb

    metrics = "".join(f", s.{m}" for m in thresholds.metrics if m != "dragen_version")
    sql = (f"SELECT s.run_id, s.sample_id{metrics}, s.dragen_version, r.project AS project, "
           "r.pipeline_release AS pipeline_release "
           "FROM sample_qc s LEFT JOIN run_latest r ON r.run_id = s.run_id ")
    if run_ids is None:
        sql += ("WHERE NOT EXISTS (SELECT 1 FROM qc_results q "
                "WHERE q.run_id = s.run_id AND q.suite = ?) ")
        params: list[Any] = [SUITE]
    else:
        if not run_ids:
            run_ids = [""]
        sql += f"WHERE s.run_id IN ({', '.join('?' for _ in run_ids)}) "
        params = list(run_ids)
    sql += "ORDER BY s.run_id"
    try:
        return con.execute(sql, params).to_arrow_table()
    except duckdb.CatalogException as e:
        raise ConfigError(f"the sample_qc view is not available ({e}); it comes from "
                          "analytics/sql/30_sample_qc.sql") from e
    except duckdb.BinderException as e:
        raise ConfigError(f"the sample_qc view lacks a column the thresholds check: {e}") from e


def _write_report(store: LakeStore, result: GateResult, thresholds: Thresholds) -> str:
    """Write the HTML report and the GX result JSON beside it; returns the report's location."""
    from expectations.qc_report import render_html

    stamp = result.evaluated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    base = f"{store.root}/{REPORTS_DIR}/{stamp}-{result.suite_version}"
    store.fs.create_dir(f"{store.root}/{REPORTS_DIR}", recursive=True)
    for path, text in ((f"{base}.json", json.dumps(result.validation, indent=1)),
                       (f"{base}.html", render_html(result, thresholds))):
        with store.fs.open_output_stream(path) as out:
            out.write(text.encode("utf-8"))
    prefix = "s3://" if store.settings.lake_is_s3 else ""
    return f"{prefix}{base}.html"
