"""``seqledger report qc`` as a user runs it (a process): the QC metric distributions of the latest
gates per project, release and month, as a table, CSV and JSON, and its usage and lake errors.

The lake is written by hand so every figure is known: four runs gated on coverage (>= 30) and
contamination (<= 2); run-2 is re-gated a month later (its second gate wins, and still counts on
the run's own day, in January); run-4 finishes in February.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lake.settings import Settings
from lake.store import LakeStore

SEQLEDGER = str(Path(sys.executable).with_name("seqledger"))
# run: project, release, finished at, [(gated at, coverage, contamination)]
RUNS = {
    "run-1": ("a", "r1", datetime(2026, 1, 9, tzinfo=UTC),
              [(datetime(2026, 1, 10, tzinfo=UTC), 40.0, 1.0)]),
    "run-2": ("a", "r1", datetime(2026, 1, 11, tzinfo=UTC),
              [(datetime(2026, 1, 12, tzinfo=UTC), 20.0, 3.0),
               (datetime(2026, 2, 20, tzinfo=UTC), 31.0, 1.5)]),
    "run-3": ("b", "r2", datetime(2026, 2, 4, tzinfo=UTC),
              [(datetime(2026, 2, 5, tzinfo=UTC), 35.0, 0.5)]),
    "run-4": ("a", "r1", datetime(2026, 2, 10, tzinfo=UTC),
              [(datetime(2026, 2, 11, tzinfo=UTC), 50.0, 2.5)]),
}
CHECKS = (("mean_coverage_x", ">= 30"), ("contamination_pct", "<= 2"))


def _rows() -> dict[str, list[dict]]:
    runs, results = [], []
    for run_id, (project, release, done_at, gates) in RUNS.items():
        tags = {"run_id": run_id, "sample_id": f"S-{run_id}", "project": project,
                "pipeline_release": release}
        runs.append({**tags, "status": "SUCCEEDED", "status_at": done_at})
        for at, *values in gates:
            common = {**tags, "suite": "sample_qc", "suite_version": "v1", "evaluated_at": at}
            passes = [values[0] >= 30, values[1] <= 2]
            results += [{**common, "check_id": f"{metric}_check", "metric_id": metric,
                         "observed_value": v, "threshold": rule, "passed": ok, "severity": "fail",
                         "verdict": "pass" if ok else "fail"}
                        for (metric, rule), v, ok in zip(CHECKS, values, passes, strict=True)]
            results.append({**common, "check_id": "overall", "passed": all(passes),
                            "verdict": "pass" if all(passes) else "fail"})
    return {"runs": runs, "qc_results": results}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("report-qc")
    store = LakeStore(Settings(lake_uri=str(root / "lake")))
    for name, rows in _rows().items():
        store.write(name, rows)
    return str(root / "lake")


def run(args: list[str], lake: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEQLEDGER_")}
    environ.update(SEQLEDGER_LAKE=lake, NO_COLOR="1")
    return subprocess.run([SEQLEDGER, "report", "qc", *args], env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


def _json(args: list[str], lake: str) -> list[dict]:
    proc = run([*args, "--format", "json"], lake)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_by_project_merges_months_with_counts_and_extremes_but_no_percentiles(lake):
    rows = {(r["project"], r["metric_id"]): r for r in _json([], lake)}
    assert list(rows) == [("a", "contamination_pct"), ("a", "mean_coverage_x"),
                          ("b", "contamination_pct"), ("b", "mean_coverage_x")]
    cov = rows[("a", "mean_coverage_x")]  # run-1 40 and run-2 31 (re-gated) in Jan, run-4 50
    assert (cov["runs"], cov["passed"], cov["min_value"], cov["max_value"]) == (3, 3, 31.0, 50.0)
    assert (cov["merged_rows"], cov["p50_value"]) == (2, None)
    contamination = rows[("a", "contamination_pct")]  # 1.0, 1.5, then 2.5 fails
    assert (contamination["runs"], contamination["passed"]) == (3, 2)
    assert contamination["pass_rate"] == pytest.approx(2 / 3)
    b = rows[("b", "mean_coverage_x")]
    assert (b["runs"], b["passed"], b["p50_value"], b["merged_rows"]) == (1, 1, 35.0, 1)


def test_by_month_and_project_keeps_each_months_percentiles(lake):
    rows = {(r["month"], r["project"], r["metric_id"]): r
            for r in _json(["--by", "month,project"], lake)}
    jan = rows[("2026-01", "a", "mean_coverage_x")]  # the re-gate replaced run-2's 20
    assert (jan["runs"], jan["min_value"], jan["max_value"]) == (2, 31.0, 40.0)
    assert (jan["p10_value"], jan["p50_value"], jan["p90_value"]) == pytest.approx(
        (31.9, 35.5, 39.1))
    assert rows[("2026-02", "a", "mean_coverage_x")]["p50_value"] == 50.0
    assert ("2026-02", "b", "mean_coverage_x") in rows and len(rows) == 6


def test_a_date_range_and_a_release_narrow_to_their_months(lake):
    feb = _json(["--by", "release", "--start", "2026-02-01", "--end", "2026-02-28"], lake)
    assert {(r["pipeline_release"], r["metric_id"], r["runs"], r["max_value"]) for r in feb} == {
        ("r1", "mean_coverage_x", 1, 50.0), ("r1", "contamination_pct", 1, 2.5),
        ("r2", "mean_coverage_x", 1, 35.0), ("r2", "contamination_pct", 1, 0.5)}
    only = _json(["--by", "project,release", "--release", "r2", "--release", "r1",
                  "--project", "b"], lake)
    assert {(r["project"], r["pipeline_release"]) for r in only} == {("b", "r2")}
    assert len(only) == 2


def test_csv_and_table_carry_the_same_figures(lake):
    proc = run(["--format", "csv"], lake)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(rows[0])[:4] == ["project", "check_id", "metric_id", "threshold"]
    b = next(r for r in rows if r["project"] == "b" and r["metric_id"] == "mean_coverage_x")
    assert (b["runs"], b["p50_value"]) == ("1", "35.0")
    table = run([], lake)
    assert table.returncode == 0, table.stderr
    head, rule, *lines = table.stdout.splitlines()
    assert head.split() == ["project", "check_id", "metric_id", "threshold", "runs", "passed",
                            "pass_rate", "min", "p10", "p50", "p90", "max", "merged_rows"]
    assert lines[0].split() == ["a", "contamination_pct_check", "contamination_pct", "<=", "2",
                                "3", "2", "66.7%", "1", "2.5", "2"]


@pytest.mark.parametrize(("args", "code", "stderr"), [
    (["--by", "sample"], 2, "Error: Invalid value for '--by': cannot group QC metrics by "
                            "['sample']; choose from month, project, release"),
    (["--start", "2026-03-01", "--end", "2026-02-01"], 2,
     "Error: the date range starts (2026-03-01) after it ends (2026-02-01)"),
    (["--start", "March"], 2, "Error: Invalid value for '--start'"),
    (["--format", "xml"], 2, "Error: Invalid value for '--format'"),
])
def test_a_bad_option_is_one_line_and_exit_2(lake, args, code, stderr):
    proc = run(args, lake)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(stderr), proc.stderr
    assert proc.stdout == ""


def test_a_lake_that_does_not_exist_is_exit_3(tmp_path):
    proc = run([], str(tmp_path / "nowhere"))
    assert proc.returncode == 3
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(tmp_path / "nowhere") in proc.stderr
