"""The reviewed thresholds file: the shipped defaults, and clear errors for bad lines."""

from __future__ import annotations

from datetime import date

import pytest

from expectations.qc_thresholds import (
    COLUMNS,
    DEFAULT_SAMPLE_QC,
    load_thresholds,
    parse_thresholds,
    worst,
)
from lake.errors import ConfigError

HEADER = ",".join(COLUMNS)
GOOD = "mean_coverage,mean_coverage_x,>=,30,fail,fail,cov,domain-anchors §2.1,qc lead,2026-11-25"


def test_shipped_defaults_match_the_qc_contract():
    t = load_thresholds()
    assert t.version == "sample_qc_v1"
    rules = {c.check_id: (c.metric, c.threshold_text, c.severity, c.verdict_if_failed)
             for c in t.checks}
    assert rules == {
        "mean_coverage": ("mean_coverage_x", ">= 30", "fail", "fail"),
        "genome_ge_20x": ("genome_ge_20x_pct", ">= 90", "fail", "fail"),
        "q30_bases": ("q30_bases", ">= 8e10", "fail", "fail"),
        "contamination_reextract": ("contamination_pct", "< 1", "fail", "review"),
        "contamination_max": ("contamination_pct", "<= 3", "fail", "fail"),
        "sex_ploidy": ("ploidy", "in XX, XY", "fail", "review"),
        "mapped_reads": ("mapped_reads_pct", ">= 95", "warn", "pass"),
    }
    assert t.metrics == ("mean_coverage_x", "genome_ge_20x_pct", "q30_bases",
                         "contamination_pct", "ploidy", "mapped_reads_pct")
    aou = [c for c in t.checks if c.check_id != "mapped_reads"]
    assert all("§2.1" in c.source for c in aou)
    assert all(c.reviewed_by and c.reviewed_on == date(2026, 11, 25) for c in t.checks)


@pytest.mark.parametrize(("line", "message"), [
    (GOOD.replace("mean_coverage_x", "mean_cov"), "unknown metric 'mean_cov'"),
    (GOOD.replace(">=", "=>"), "unknown operator '=>'"),
    (GOOD.replace(",30,", ",thirty,"), "value 'thirty' is not a number"),
    (GOOD.replace(",fail,fail,", ",fatal,fail,"), "severity 'fatal'"),
    (GOOD.replace(",fail,fail,", ",warn,fail,"), "a warn check must map to verdict pass"),
    (GOOD.replace(",fail,fail,", ",fail,maybe,"), "verdict_if_failed 'maybe'"),
    (GOOD.replace("2026-11-25", "25/11/2026"), "reviewed_on '25/11/2026'"),
    (GOOD.replace("qc lead", ""), "reviewed_by is empty"),
    (GOOD.replace("mean_coverage,mean", "overall,mean"), "must be snake_case and not 'overall'"),
    ("sex,ploidy,>=,1,fail,review,x,src,qc lead,2026-11-25", "needs a numeric metric"),
    (GOOD + ",extra", "expected 10 fields, got 11"),
])
def test_a_bad_line_is_named_by_file_and_line(line, message):
    text = "\n".join([HEADER, GOOD.replace("mean_coverage,", "cov_a,", 1), line])
    with pytest.raises(ConfigError) as err:
        parse_thresholds(text, source="thresholds/x.csv", version="x")
    assert str(err.value).startswith("thresholds/x.csv:3: ")
    assert message in str(err.value)


def test_repeated_check_and_bad_header_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"t.csv:3: check_id 'mean_coverage' is repeated"):
        parse_thresholds("\n".join([HEADER, GOOD, GOOD]), source="t.csv", version="t")
    with pytest.raises(ConfigError, match=r"t.csv:1: header must be"):
        parse_thresholds("check,metric\n" + GOOD, source="t.csv", version="t")
    with pytest.raises(ConfigError, match="no checks defined"):
        parse_thresholds(HEADER + "\n\n", source="t.csv", version="t")
    with pytest.raises(ConfigError, match="cannot read thresholds"):
        load_thresholds(tmp_path / "absent.csv")


def test_a_custom_file_loads_with_its_stem_as_version(tmp_path):
    path = tmp_path / "sample_qc_v2.csv"
    path.write_text(f"{HEADER}\n{GOOD}\nploidy,ploidy,in,XX|XY|XXY,fail,review,p,src,qc,2026-11-26\n")
    t = load_thresholds(path)
    assert t.version == "sample_qc_v2" and t.path == str(path)
    assert t.checks[1].value == ("XX", "XY", "XXY")
    assert DEFAULT_SAMPLE_QC.name == "sample_qc_v1.csv"


def test_worst_verdict():
    assert worst(["pass", "review", "pass"]) == "review"
    assert worst(["review", "fail"]) == "fail"
    assert worst([]) == "pass"
