"""Release validation: the comparison, the gate (real Great Expectations) and the thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from expectations.release import compare, judge
from expectations.release_thresholds import (
    DEFAULT_RELEASE,
    load_release_thresholds,
    parse_release_thresholds,
)
from lake.errors import ConfigError
from pipeline_runner.releases import latest_verdicts, make_gate

AT = datetime(2026, 10, 30, 12, tzinfo=UTC)
SAMPLES = ("HG001", "HG002", "HG003")


def _values(snp_f1=0.9986, indel_f1=0.9968, indel_recall=0.9964, cov=35.0, cost=14.0,
            shift: dict[str, float] | None = None):
    out = {}
    for i, s in enumerate(SAMPLES):
        v = {"snp_pass_f1": snp_f1, "snp_pass_recall": 0.9978, "snp_pass_precision": 0.9991,
             "snp_pass_fn": 7000.0 + i, "snp_pass_fp": 2600.0 + i, "indel_pass_f1": indel_f1,
             "indel_pass_recall": indel_recall, "indel_pass_precision": 0.9972,
             "indel_pass_fn": 1800.0, "indel_pass_fp": 1400.0, "mean_coverage_x": cov + i,
             "mapped_reads_pct": 99.5, "duplicate_reads_pct": 8.0, "ti_tv_ratio": 2.05,
             "contamination_pct": 0.1, "total_runtime_s": 5000.0, "cost_usd": cost}
        for k, d in (shift or {}).items():
            v[k] += d
        out[s] = v
    return out


@pytest.fixture(scope="module")
def thresholds():
    return load_release_thresholds()


def test_the_default_thresholds_load_with_a_source_for_every_check(thresholds):
    assert thresholds.version == "release_v1" and len(thresholds.sha256) == 64
    assert all(c.source and c.reviewed_by for c in thresholds.checks)
    ids = {c.check_id for c in thresholds.checks}
    assert {"snp_f1_floor", "indel_f1_floor", "indel_recall_regression"} <= ids


def test_a_release_as_good_as_its_baseline_passes(thresholds):
    frame = compare(_values(shift={"snp_pass_f1": 0.0001}), _values(), SAMPLES)
    result = judge(frame, thresholds, release="new", baseline="old", evaluated_at=AT)
    assert result.verdict == "pass", result.failed()
    assert result.rows[-1]["check_id"] == "overall" and result.rows[-1]["passed"]
    # one row per sample per per-sample check, one per cohort check, and the overall row
    per_sample = [c for c in thresholds.checks if not c.cohort]
    assert len(result.rows) == len(per_sample) * 3 + (len(thresholds.checks) - len(per_sample)) + 1
    assert result.validation["success"] is True  # the GX result is kept


def test_an_indel_recall_drop_fails_naming_the_checks_and_samples(thresholds):
    base = _values()
    new = _values(shift={"indel_pass_recall": -0.006, "indel_pass_f1": -0.003,
                         "indel_pass_fn": 1200.0})
    new["HG003"]["indel_pass_recall"] = base["HG003"]["indel_pass_recall"]  # one sample is fine
    new["HG003"]["indel_pass_f1"] = base["HG003"]["indel_pass_f1"]
    result = judge(compare(new, base, SAMPLES), thresholds, release="rc", baseline="old",
                   evaluated_at=AT)
    assert result.verdict == "fail"
    failed = {(r["check_id"], r["sample_id"]) for r in result.failed("fail")}
    assert failed == {("indel_recall_regression", "HG001"), ("indel_recall_regression", "HG002"),
                      ("indel_f1_regression", "HG001"), ("indel_f1_regression", "HG002")}
    row = next(r for r in result.failed("fail") if r["check_id"] == "indel_recall_regression")
    assert row["observed_value"] == pytest.approx(-0.006)
    assert row["baseline_value"] == pytest.approx(0.9964)
    assert {r["check_id"] for r in result.failed("warn")} == {"indel_fn_increase"}


def test_an_absolute_floor_fails_without_any_baseline_and_regressions_only_warn(thresholds):
    frame = compare(_values(snp_f1=0.990), None, SAMPLES)
    result = judge(frame, thresholds, release="first", baseline=None, evaluated_at=AT)
    assert result.verdict == "fail"
    assert {r["check_id"] for r in result.failed("fail")} == {"snp_f1_floor"}
    warned = [r for r in result.failed("warn") if r["check_id"] == "snp_f1_regression"]
    assert warned[0]["note"].startswith("no baseline release")


def test_a_sample_not_run_under_the_baseline_fails_its_regression_checks(thresholds):
    base = _values()
    del base["HG002"]
    result = judge(compare(_values(), base, SAMPLES), thresholds, release="new",
                   baseline="old", evaluated_at=AT)
    rows = [r for r in result.failed("fail") if r["sample_id"] == "HG002"]
    assert rows and all(r["note"] == "not run under the baseline" for r in rows)
    assert not [r for r in result.failed("fail") if r["sample_id"] != "HG002"]


def test_qc_drift_is_a_median_over_the_cohort_and_only_warns(thresholds):
    result = judge(compare(_values(shift={"mean_coverage_x": 3.0, "cost_usd": 3.0}), _values(),
                           SAMPLES), thresholds, release="new", baseline="old", evaluated_at=AT)
    assert result.verdict == "warn"
    drift = {r["check_id"]: r for r in result.failed("warn")}
    assert set(drift) == {"coverage_drift", "cost_drift"}
    assert drift["cost_drift"]["observed_value"] == pytest.approx(3.0 / 14.0)
    assert drift["cost_drift"]["sample_id"] == "*"


@pytest.mark.parametrize(("line", "message"), [
    ("x,snp_pass_f1,absolute,>=,0.9,fail,d,s,r,2026-01-01", None),
    ("bad id,snp_pass_f1,absolute,>=,0.9,fail,d,s,r,2026-01-01", "must be snake_case"),
    ("x,nope,absolute,>=,0.9,fail,d,s,r,2026-01-01", "unknown metric 'nope'"),
    ("x,snp_pass_f1,ratio,>=,0.9,fail,d,s,r,2026-01-01", "comparison 'ratio'"),
    ("x,snp_pass_f1,absolute,==,0.9,fail,d,s,r,2026-01-01", "operator '=='"),
    ("x,snp_pass_f1,absolute,>=,high,fail,d,s,r,2026-01-01", "'high' is not a number"),
    ("x,snp_pass_f1,absolute,>=,0.9,fatal,d,s,r,2026-01-01", "severity 'fatal'"),
    ("x,snp_pass_f1,absolute,>=,0.9,fail,d,,r,2026-01-01", "source is empty"),
    ("x,snp_pass_f1,absolute,>=,0.9,fail,d,s,r,yesterday", "not a YYYY-MM-DD date"),
])
def test_thresholds_are_checked_line_by_line(line, message):
    header = DEFAULT_RELEASE.read_text().splitlines()[0]
    if message is None:
        assert parse_release_thresholds(f"{header}\n{line}\n", "t.csv")[0].check_id == "x"
    else:
        with pytest.raises(ConfigError, match=message):
            parse_release_thresholds(f"{header}\n{line}\n", "t.csv")


def test_the_release_gate_lets_validated_releases_and_validation_samples_through():
    rows = [
        {"pipeline_release": "a", "check_id": "overall", "verdict": "fail",
         "evaluated_at": AT, "recorded_at": AT},
        {"pipeline_release": "a", "check_id": "overall", "verdict": "pass",
         "evaluated_at": AT.replace(day=31), "recorded_at": AT},
        {"pipeline_release": "b", "check_id": "overall", "verdict": "pass",
         "evaluated_at": AT, "recorded_at": AT},
        {"pipeline_release": "b", "check_id": "overall", "verdict": "fail",
         "evaluated_at": AT.replace(day=31), "recorded_at": AT},
        {"pipeline_release": "c", "check_id": "snp_f1_floor", "verdict": "pass",
         "evaluated_at": AT, "recorded_at": AT},
    ]
    assert latest_verdicts(rows) == {"a": "pass", "b": "fail"}
    gate = make_gate(latest_verdicts(rows), ["giab-validation"])
    assert gate("cardio", "a") is None
    assert "release b failed its validation" in gate("cardio", "b")
    assert "release c has not been validated" in gate("cardio", "c")
    assert gate("giab-validation", "c") is None
