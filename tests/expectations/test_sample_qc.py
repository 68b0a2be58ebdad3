"""The QC gate on crafted sample_qc rows: values at and around every threshold, NULLs, many runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

from expectations.qc_thresholds import load_thresholds
from expectations.sample_qc import MISSING, build_suite, gate, unexpected_runs
from lake.errors import SchemaError, TerminalError
from lake.schemas import QC_RESULTS
from lake.store import to_table

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Real values: the normal sample of dragen/T_SRR7890936_50pc (DRAGEN 3.5.2):
# wgs_coverage_metrics_normal.csv "Average autosomal coverage over genome,47.50" and
# "PCT of genome with coverage [ 20x: inf),92.79"; mapping_metrics.csv NORMAL SUMMARY
# "Q30 bases,147576651866,89.44" and "Mapped reads,1066826874,96.98". That run has no
# contamination estimate and its ploidy file says X0: those two are set by hand to passing values.
GOOD = {"sample_id": "N_SRR7890889", "mean_coverage_x": 47.50, "genome_ge_20x_pct": 92.79,
        "q30_bases": 147576651866.0, "mapped_reads_pct": 96.98, "contamination_pct": 0.20,
        "ploidy": "XY"}

# Real values: dragen/TEST (low-pass): "Average autosomal coverage over genome,0.52",
# "[ 20x: inf),1.17", "Q30 bases,1340494353,88.11", "Mapped reads,10104044,99.62",
# no contamination line, and an empty "Ploidy estimation" value.
TEST = {"sample_id": "TEST", "mean_coverage_x": 0.52, "genome_ge_20x_pct": 1.17,
        "q30_bases": 1340494353.0, "mapped_reads_pct": 99.62, "contamination_pct": None,
        "ploidy": None}

# (run_id, changed metric, value, expected overall verdict, checks expected to fail)
CASES = [
    ("good", None, None, "pass", set()),
    ("cov_29_99", "mean_coverage_x", 29.99, "fail", {"mean_coverage"}),
    ("cov_30", "mean_coverage_x", 30.0, "pass", set()),
    ("g20_89_99", "genome_ge_20x_pct", 89.99, "fail", {"genome_ge_20x"}),
    ("g20_90", "genome_ge_20x_pct", 90.0, "pass", set()),
    ("q30_low", "q30_bases", 7.99e10, "fail", {"q30_bases"}),
    ("q30_8e10", "q30_bases", 8e10, "pass", set()),
    ("cont_0_99", "contamination_pct", 0.99, "pass", set()),
    ("cont_1_0", "contamination_pct", 1.0, "review", {"contamination_reextract"}),
    ("cont_3_0", "contamination_pct", 3.0, "review", {"contamination_reextract"}),
    ("cont_3_01", "contamination_pct", 3.01, "fail",
     {"contamination_reextract", "contamination_max"}),
    ("ploidy_x0", "ploidy", "X0", "review", {"sex_ploidy"}),
    ("ploidy_xx", "ploidy", "XX", "pass", set()),
    ("mapped_94_99", "mapped_reads_pct", 94.99, "pass", {"mapped_reads"}),
    ("mapped_95", "mapped_reads_pct", 95.0, "pass", set()),
]


def _rows(cases=CASES):
    rows = []
    for run_id, metric, value, *_ in cases:
        row = {"run_id": run_id, **GOOD, "project": "aou"}
        if metric:
            row[metric] = value
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def boundary():
    return gate(pd.DataFrame(_rows()), evaluated_at=AT)


@pytest.mark.parametrize(("run_id", "verdict", "failed"), [(c[0], c[3], c[4]) for c in CASES])
def test_verdicts_at_and_around_each_threshold(boundary, run_id, verdict, failed):
    assert boundary.verdicts[run_id] == verdict
    rows = [r for r in boundary.rows if r["run_id"] == run_id]
    assert {r["check_id"] for r in rows if not r["passed"] and r["check_id"] != "overall"} == failed
    overall = rows[-1]
    assert overall["check_id"] == "overall"
    assert overall["verdict"] == verdict and overall["passed"] == (verdict == "pass")
    assert overall["observed_value"] == len(failed)


def test_rows_fit_qc_results_and_carry_observed_values(boundary):
    checks = load_thresholds().checks
    assert len(boundary.rows) == len(CASES) * (len(checks) + 1)
    to_table(QC_RESULTS, boundary.rows)  # raises if a row does not fit the lake schema
    by_key = {(r["run_id"], r["check_id"]): r for r in boundary.rows}
    low = by_key[("cov_29_99", "mean_coverage")]
    assert (low["observed_value"], low["threshold"], low["passed"], low["severity"],
            low["verdict"]) == (29.99, ">= 30", False, "fail", "fail")
    tier = by_key[("cont_1_0", "contamination_reextract")]
    assert (tier["observed_value"], tier["threshold"], tier["verdict"]) == (1.0, "< 1", "review")
    ploidy = by_key[("ploidy_x0", "sex_ploidy")]
    assert (ploidy["observed_value"], ploidy["observed_text"], ploidy["threshold"]) == \
        (None, "X0", "in XX, XY")
    warn = by_key[("mapped_94_99", "mapped_reads")]
    assert (warn["passed"], warn["severity"], warn["verdict"]) == (False, "warn", "pass")
    assert by_key[("mapped_94_99", "overall")]["observed_text"] == "warn: mapped_reads"
    assert {r["project"] for r in boundary.rows} == {"aou"}
    assert {r["suite_version"] for r in boundary.rows} == {"sample_qc_v1"}
    assert {r["evaluated_at"] for r in boundary.rows} == {AT}
    assert boundary.counts() == {"pass": 8, "review": 3, "fail": 4}


def test_one_validation_names_every_failing_run(boundary):
    v = boundary.validation
    assert v["success"] is False
    # 7 checks + one not-null expectation per metric (6 metrics)
    assert v["statistics"]["evaluated_expectations"] == 13
    failing = unexpected_runs(v)
    assert failing["mean_coverage"] == {"cov_29_99"}
    assert failing["contamination_reextract"] == {"cont_1_0", "cont_3_0", "cont_3_01"}
    assert failing["presence:contamination_pct"] == set()


def test_real_low_pass_test_sample_fails_and_missing_metrics_fail_their_checks():
    result = gate(pa.Table.from_pylist([{"run_id": "run-test", **TEST}]), evaluated_at=AT)
    assert result.verdicts == {"run-test": "fail"}
    by_check = {r["check_id"]: r for r in result.rows}
    assert by_check["mean_coverage"]["observed_value"] == 0.52
    assert not by_check["mean_coverage"]["passed"]
    for check in ("contamination_reextract", "contamination_max", "sex_ploidy"):
        assert by_check[check]["passed"] is False
        assert by_check[check]["observed_text"] == MISSING
        assert by_check[check]["observed_value"] is None
    assert by_check["mapped_reads"]["passed"] is True
    assert by_check["overall"]["project"] is None
    assert "contamination_max (missing)" in by_check["overall"]["observed_text"]


@pytest.mark.parametrize("metric", ["mean_coverage_x", "mapped_reads_pct", "ploidy"])
def test_a_null_metric_is_never_a_silent_pass(metric):
    row = {"run_id": "r1", **GOOD, metric: None}
    result = gate(pd.DataFrame([row]), evaluated_at=AT)
    failed = [r for r in result.rows if r["metric_id"] == metric]
    assert failed and all(not r["passed"] and r["observed_text"] == MISSING for r in failed)
    expected = {"mean_coverage_x": "fail", "mapped_reads_pct": "pass", "ploidy": "review"}[metric]
    assert result.verdicts["r1"] == expected


def test_many_runs_in_one_validation():
    n = 2000
    rows = [{"run_id": f"run-{i:05d}", **GOOD,
             "mean_coverage_x": 25.0 if i % 10 == 0 else 40.0,
             "contamination_pct": 2.0 if i % 25 == 1 else 0.3} for i in range(n)]
    result = gate(pa.Table.from_pylist(rows), evaluated_at=AT)
    low_cov = {f"run-{i:05d}" for i in range(n) if i % 10 == 0}
    review = {f"run-{i:05d}" for i in range(n) if i % 25 == 1} - low_cov
    assert {r for r, v in result.verdicts.items() if v == "fail"} == low_cov
    assert {r for r, v in result.verdicts.items() if v == "review"} == review
    assert result.counts()["pass"] == n - len(low_cov) - len(review)
    assert len(result.rows) == n * 8
    assert result.validation["statistics"]["evaluated_expectations"] == 13


def test_empty_input_gives_empty_result_without_gx():
    frame = pa.Table.from_pylist([], schema=pa.schema(
        [(c, pa.float64()) for c in ("mean_coverage_x", "genome_ge_20x_pct", "q30_bases",
                                     "contamination_pct", "mapped_reads_pct")]
        + [("run_id", pa.string()), ("sample_id", pa.string()), ("ploidy", pa.string())]))
    result = gate(frame, evaluated_at=AT)
    assert (result.rows, result.verdicts, result.validation) == ([], {}, {})


def test_bad_frames_are_rejected_with_the_reason():
    with pytest.raises(SchemaError, match=r"lack column\(s\) \['ploidy'\]"):
        gate(pd.DataFrame([{k: v for k, v in {"run_id": "r", **GOOD}.items() if k != "ploidy"}]))
    with pytest.raises(SchemaError, match=r"more than one row for run\(s\) \['r'\]"):
        gate(pd.DataFrame([{"run_id": "r", **GOOD}, {"run_id": "r", **GOOD}]))
    with pytest.raises(SchemaError, match="mean_coverage_x is not numeric"):
        gate(pd.DataFrame([{"run_id": "r", **GOOD, "mean_coverage_x": "thirty"}]))


def test_suite_has_one_expectation_per_check_and_per_metric():
    t = load_thresholds()
    suite = build_suite(t)
    kinds = [(e.expectation_type, e.column, e.meta.get("check_id") or e.meta["presence_of"])
             for e in suite.expectations]
    assert ("expect_column_values_to_be_between", "mean_coverage_x", "mean_coverage") in kinds
    assert ("expect_column_values_to_be_in_set", "ploidy", "sex_ploidy") in kinds
    assert ("expect_column_values_to_not_be_null", "ploidy", "ploidy") in kinds
    strict = next(e for e in suite.expectations
                  if e.meta.get("check_id") == "contamination_reextract")
    assert (strict.max_value, strict.strict_max) == (1.0, True)
    assert suite.meta["thresholds"] == "sample_qc_v1"


def test_an_expectation_that_raises_is_an_error_not_a_pass():
    validation = {"results": [{"expectation_config": {"meta": {"check_id": "mean_coverage"}},
                               "result": {},
                               "exception_info": {"m": {"raised_exception": True,
                                                        "exception_message": "bad types"}}}]}
    with pytest.raises(TerminalError, match="mean_coverage could not be evaluated: bad types"):
        unexpected_runs(validation)
