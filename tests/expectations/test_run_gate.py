"""The gate against a lake: read sample_qc, write qc_results once, keep a readable report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import analytics.engine
from analytics.engine import connect
from expectations.sample_qc import run_gate
from lake.errors import ConfigError
from lake.store import LakeStore

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# A stand-in for analytics/sql/30_sample_qc.sql (owned by the DRAGEN parser): the same columns,
# pivoted from qc_metrics rows whose metric_id is the column name. Used only where the real view
# is not in the tree yet, so run_gate's own I/O is tested either way.
STAND_IN = """
SELECT sample_id, run_id, max(run_at) AS run_at,
  max(CASE WHEN metric_id = 'mean_coverage_x' THEN value END) AS mean_coverage_x,
  max(CASE WHEN metric_id = 'genome_ge_20x_pct' THEN value END) AS genome_ge_20x_pct,
  max(CASE WHEN metric_id = 'q30_bases' THEN value END) AS q30_bases,
  max(CASE WHEN metric_id = 'mapped_reads_pct' THEN value END) AS mapped_reads_pct,
  max(CASE WHEN metric_id = 'contamination_pct' THEN value END) AS contamination_pct,
  max(CASE WHEN metric_id = 'ploidy' THEN value_text END) AS ploidy,
  max(dragen_version) AS dragen_version
FROM qc_metrics GROUP BY sample_id, run_id
"""


@pytest.fixture
def stand_in_view(monkeypatch):
    real = analytics.engine.view_sql
    monkeypatch.setattr(analytics.engine, "view_sql", lambda: {**real(), "sample_qc": STAND_IN})


def _metrics(run_id: str, sample_id: str, values: dict) -> list[dict]:
    return [{"sample_id": sample_id, "run_id": run_id, "run_at": AT, "source_file": "crafted",
             "section": "S", "read_group": "", "metric_name": k, "metric_id": k,
             "value": v if not isinstance(v, str) else None,
             "value_text": v if isinstance(v, str) else None} for k, v in values.items()]


GOOD = {"mean_coverage_x": 47.5, "genome_ge_20x_pct": 92.79, "q30_bases": 1.4757e11,
        "mapped_reads_pct": 96.98, "contamination_pct": 0.2, "ploidy": "XY"}


def test_run_gate_reads_sample_qc_writes_results_once_and_a_report(lake_settings, stand_in_view):
    store = LakeStore(lake_settings)
    store.write("qc_metrics", _metrics("run-a", "S-A", GOOD)
                + _metrics("run-b", "S-B", {**GOOD, "contamination_pct": 2.0})
                + _metrics("run-c", "S-C", {k: v for k, v in GOOD.items() if k != "ploidy"}))
    store.write("runs", [{"run_id": "run-a", "sample_id": "S-A", "project": "aou-wgs",
                          "status": "SUCCEEDED", "status_at": AT}])

    result = run_gate(store, lake_settings, evaluated_at=AT)
    assert result.verdicts == {"run-a": "pass", "run-b": "review", "run-c": "review"}
    assert result.rows_written == 3 * 8

    con = connect(lake_settings)
    got = con.execute("SELECT run_id, project, verdict FROM qc_verdicts ORDER BY run_id").fetchall()
    assert got == [("run-a", "aou-wgs", "pass"), ("run-b", None, "review"),
                   ("run-c", None, "review")]
    (missing,) = con.execute("SELECT observed_text FROM qc_results WHERE run_id = 'run-c' "
                             "AND check_id = 'sex_ploidy'").fetchone()
    assert missing == "metric missing"

    report = Path(result.report_uri)
    assert report.parent == Path(lake_settings.lake_uri) / "reports" / "qc"
    html = report.read_text()
    assert "run-b" in html and "contamination_reextract" in html and "§2.1" in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    gx = json.loads(report.with_suffix(".json").read_text())
    assert gx["statistics"]["evaluated_expectations"] == 13 and gx["success"] is False

    # Run again: every run already has a result, so nothing is gated or written.
    again = run_gate(store, lake_settings)
    assert (again.verdicts, again.rows_written, again.report_uri) == ({}, 0, None)


def test_run_gate_on_named_runs_reports_unknown_ones(lake_settings, stand_in_view):
    store = LakeStore(lake_settings)
    store.write("qc_metrics", _metrics("run-a", "S-A", {**GOOD, "mean_coverage_x": 29.99}))
    result = run_gate(store, lake_settings, run_ids=["run-a", "run-zz"], evaluated_at=AT)
    assert result.verdicts == {"run-a": "fail"}
    assert result.not_found == ("run-zz",)


def test_run_gate_without_the_view_is_a_config_error(lake_settings, monkeypatch):
    real = analytics.engine.view_sql
    monkeypatch.setattr(analytics.engine, "view_sql",
                        lambda: {k: v for k, v in real().items() if k != "sample_qc"})
    with pytest.raises(ConfigError, match="sample_qc view is not available"):
        run_gate(LakeStore(lake_settings), lake_settings)


def test_real_low_pass_run_fails_through_the_real_view(lake_settings, reference):
    from ingest.dragen.service import ingest_folder

    store = LakeStore(lake_settings)
    ingest_folder(store, reference / "dragen" / "TEST", sample_id="TEST", run_id="run-test",
                  run_at=AT)
    result = run_gate(store, lake_settings, evaluated_at=AT)
    assert result.verdicts == {"run-test": "fail"}
    by_check = {r["check_id"]: r for r in result.rows}
    assert by_check["mean_coverage"]["observed_value"] == 0.52  # "Average autosomal coverage"
    assert by_check["genome_ge_20x"]["observed_value"] == 1.17
    assert by_check["q30_bases"]["observed_value"] == 1340494353
    assert by_check["mapped_reads"]["observed_value"] == 99.62
    assert by_check["contamination_max"]["observed_text"] == "metric missing"


def test_qc_gate_command_prints_verdicts(lake_settings, stand_in_view, monkeypatch):
    from click.testing import CliRunner

    from seqledger.cli import main

    store = LakeStore(lake_settings)
    store.write("qc_metrics", _metrics("run-a", "S-A", GOOD)
                + _metrics("run-b", "S-B", {**GOOD, "contamination_pct": 3.01}))
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    out = CliRunner().invoke(main, ["qc", "gate"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["run_id", "sample_id", "verdict", "checks", "not", "passed"]
    assert lines[2].split()[:3] == ["run-a", "S-A", "pass"]
    assert lines[3].split()[:4] == ["run-b", "S-B", "fail", "fail:"]
    assert "2 run(s) gated with sample_qc_v1: 1 pass, 0 review, 1 fail" in out.output
    assert "report: " + str(Path(lake_settings.lake_uri) / "reports" / "qc") in out.output

    again = CliRunner().invoke(main, ["qc", "gate", "--run-id", "run-nope"])
    assert again.exit_code == 0
    assert "no QC metrics for run run-nope" in again.output
    assert "no run to gate" in again.output

    bad = Path(lake_settings.lake_uri).parent / "bad.csv"
    bad.write_text("check_id,metric\n")
    failed = CliRunner().invoke(main, ["qc", "gate", "--thresholds", str(bad)])
    assert failed.exit_code == 1
    assert f"Error: {bad}:1: header must be" in failed.output
