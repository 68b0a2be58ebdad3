"""The QC page through AppTest over a lake written here (``tests/dashboards/qc_lake.py``)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboards.apptest import charts, open_page
from tests.dashboards.qc_lake import TEST_COVERAGE, write_qc_lake


@pytest.fixture
def qc_lake(lake_settings, reference, monkeypatch):
    write_qc_lake(lake_settings, reference / "dragen" / "TEST")
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    return lake_settings


def _page(params: dict[str, str | list[str]] | None = None) -> AppTest:
    return open_page("qc", params)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_verdicts_failed_checks_and_thresholds_from_the_lake(qc_lake):
    at = _page()
    assert not at.exception
    assert metrics(at) == {"Gated runs": "4", "Pass": "1", "Review": "1", "Fail": "2"}
    drawn = charts(at)
    (per_day,) = drawn["QC verdicts per day (runs by the day they finished)"]["data"]
    # every day from the first to the last run is drawn, quiet days as zeros
    days = sorted({r["period"] for r in per_day})
    assert days == [f"2026-11-{d:02d}" for d in range(2, 10)]
    counts = {(r["period"], r["verdict"]): r["runs"] for r in per_day}
    assert counts[("2026-11-02", "pass")] == 1 and counts[("2026-11-02", "fail")] == 1
    assert counts[("2026-11-04", "review")] == 1 and counts[("2026-11-09", "fail")] == 1
    assert sum(counts.values()) == 4 and counts[("2026-11-05", "pass")] == 0

    failed = at.dataframe[0].value
    assert sorted(zip(failed["run_id"], failed["check_id"], failed["value"], failed["threshold"],
                      failed["check_verdict"], strict=True)) == [
        ("R2", "mean_coverage", "25.0", ">= 30", "fail"),
        ("R3", "contamination_reextract", "1.5", "< 1", "review"),
        ("R4", "mean_coverage", str(TEST_COVERAGE), ">= 30", "fail")]
    assert at.subheader[0].value == "Checks not passed (3)"

    coverage = drawn["mean_coverage_x: 4 runs"]["data"]
    points, rules = coverage[0], coverage[1]
    assert sorted((p["run_id"], p["value"], p["outcome"]) for p in points) == [
        ("R1", 35.0, "pass"), ("R2", 25.0, "fail"), ("R3", 40.0, "pass"),
        ("R4", TEST_COVERAGE, "fail")]
    assert [(r["check_id"], r["at"]) for r in rules] == [("mean_coverage", 30.0)]
    contamination = drawn["contamination_pct: 4 runs"]["data"]
    assert sorted((r["check_id"], r["at"]) for r in contamination[1]) == [
        ("contamination_max", 3.0), ("contamination_reextract", 1.0)]
    # one dot per run, coloured by the worst of the metric's two checks
    assert {p["run_id"]: p["outcome"] for p in contamination[0]}["R3"] == "review"
    labels = [b.label for b in at.get("download_button")]
    assert "Download checks not passed (CSV)" in labels
    assert "Download metric values (CSV)" in labels


def test_weeks_and_the_project_filter_from_the_sidebar(qc_lake):
    at = _page()
    at.radio(key="qc_grain").set_value("week").run()
    (weeks,) = charts(at)["QC verdicts per week (runs by the day they finished)"]["data"]
    assert {(r["period"], r["verdict"]): r["runs"] for r in weeks if r["runs"]} == {
        ("2026-11-02", "pass"): 1, ("2026-11-02", "fail"): 1, ("2026-11-02", "review"): 1,
        ("2026-11-09", "fail"): 1}

    at.multiselect(key="filter_project").set_value(["pgx"]).run()
    assert not at.exception
    assert metrics(at) == {"Gated runs": "2", "Pass": "0", "Review": "1", "Fail": "1"}
    assert sorted(at.dataframe[0].value["run_id"]) == ["R3", "R4"]
    assert at.query_params["project"] in ("pgx", ["pgx"])


def test_the_release_and_dates_from_the_link(qc_lake):
    at = _page({"release": "rel-1"})
    assert not at.exception
    assert metrics(at) == {"Gated runs": "2", "Pass": "1", "Review": "0", "Fail": "1"}
    assert list(at.dataframe[0].value["run_id"]) == ["R2"]

    at = _page({"start": "2026-11-03", "end": "2026-11-08"})
    assert metrics(at) == {"Gated runs": "1", "Pass": "0", "Review": "1", "Fail": "0"}
    (per_day,) = charts(at)["QC verdicts per day (runs by the day they finished)"]["data"]
    # the selected range is drawn whole, days with no run included
    assert sorted({r["period"] for r in per_day}) == [f"2026-11-{d:02d}" for d in range(3, 9)]


def test_one_sample_from_the_link_with_its_histograms_and_contigs(qc_lake):
    at = _page({"sample": "S1"})
    assert not at.exception
    assert at.selectbox(key="qc_sample").value == "S1"
    # S1 ran twice (R1 under rel-1, R4 under rel-2): the newest is shown first
    run = at.selectbox(key="qc_run")
    assert run.options[0].startswith("R4 · 2026-11-09 · rel-2 · fail")
    assert run.value == "R4"
    assert at.error[0].value.startswith("**S1**, run `R4`: QC fail")
    drawn = charts(at)
    (fragments,) = drawn["Fragment length"]["data"]
    # TEST.fragment_length_hist.csv: its one sample, first bin "49,1"
    assert {b["series"] for b in fragments} == {"NA12878Pcr-FreeHiSeqX"}
    assert (fragments[0]["x"], fragments[0]["value"]) == (49.0, 1.0)
    (depth,) = drawn["Coverage depth"]["data"]
    assert (depth[0]["x"], depth[0]["value"]) == (0.0, 2936419841.0)
    assert all(b["x"] < 1000 for b in depth)  # the open 1000+ bin is left off the curve
    (contigs,) = drawn["Mean coverage per contig"]["data"]
    chr5 = next(c for c in contigs if c["contig"] == "chr5")
    assert (chr5["aligned_bases"], chr5["mean_coverage_x"]) == (17465, 9.7579e-05)
    assert {c["contig_kind"] for c in contigs} == {"primary"}
    # TEST.wgs_contig_mean_cov.csv: chrM 0.01183x, autosomes 0.518093x
    assert "chrM: mean coverage 0.01× (0.0× the autosomal mean)" in [c.value for c in at.caption]
    checks = next(d.value for d in at.dataframe if "passed" in d.value.columns)
    assert list(zip(checks["check_id"], checks["passed"], strict=True))[0] == (
        "mean_coverage", False)  # failed first
    shown = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    # sample_qc of the real TEST files: DRAGEN's own runtime, 00:01:32.032 = 92.032 s
    assert dict(zip(shown["metric"], shown["value"], strict=True))["total_runtime_s"] == "92.032"

    # TEST.fastqc_metrics.csv: the FastQC distributions, one chart at a time
    other = at.selectbox(key="qc_hist")
    assert "fastqc_positional_quality" in other.options
    other.set_value("fastqc_positional_quality").run()
    (quality,) = charts(at)["fastqc_positional_quality"]["data"]
    first = next(b for b in quality if b["label"] == "ReadPos 1 1% Quantile QV")
    assert (first["series"], first["x"], first["value"]) == ("Read1 1% quantile", 1.0, 11.0)

    at.selectbox(key="qc_run").set_value("R1").run()
    assert not at.exception
    assert at.success[0].value.startswith("**S1**, run `R1`: QC pass")
    run_checks = next(d.value for d in at.dataframe if "passed" in d.value.columns)
    assert dict(zip(run_checks["check_id"], run_checks["value"], strict=True)) == {
        "mean_coverage": "35.0", "contamination_reextract": "0.2", "contamination_max": "0.2"}
    assert any(i.value.startswith("The lake holds no histograms for this run") for i in at.info)


def test_choosing_a_sample_writes_it_to_the_link(qc_lake):
    at = _page()
    assert at.selectbox(key="qc_sample").value is None
    at.selectbox(key="qc_sample").set_value("S3").run()
    assert not at.exception
    assert at.query_params["sample"] in ("S3", ["S3"])
    assert at.warning[0].value.startswith("**S3**, run `R3`: QC review")


@pytest.fixture
def many(qc_lake, monkeypatch):
    """The QC lake as if it were a year: beyond 2 runs a metric is summarised, 2 rows shown."""
    from dashboards import page_parts, qc_charts

    monkeypatch.setattr(qc_charts, "STRIP_MAX", 2)
    monkeypatch.setattr(page_parts, "SHOWN_ROWS", 2)
    return qc_lake


def test_beyond_the_strip_whole_months_read_the_monthly_summaries(many):
    at = _page()
    assert not at.exception
    assert at.subheader[0].value == "Checks not passed (3)"
    failed = at.dataframe[0].value
    # the first 2 of 3, worst then newest first: R4 (9 Nov) before R2 (2 Nov)
    assert list(zip(failed["run_id"], failed["check_id"], strict=True)) == [
        ("R4", "mean_coverage"), ("R2", "mean_coverage")]
    assert "The first 2 of 3, worst and newest first; the CSV has them all." in [
        c.value for c in at.caption]
    (panels,) = charts(at)[
        "Gated metrics: 4 runs (per month: median, p10 to p90 band)"]["data"]
    coverage = [p for p in panels if p["metric"] == "mean_coverage_x (×)"]
    got = {b["group"]: (b["month"], b["runs"], b["min_value"], b["p10_value"], b["p50_value"],
                        b["p90_value"], b["max_value"]) for b in coverage if b["kind"] == "box"}
    # aou/rel-1: R1 35 and R2 25; pgx/rel-2: R3 40 and R4 0.52 (quantiles interpolated)
    assert got == {
        "aou · rel-1": ("2026-11", 2, 25.0, 26.0, 30.0, 34.0, 35.0),
        "pgx · rel-2": ("2026-11", 2, TEST_COVERAGE, pytest.approx(4.468),
                        pytest.approx(20.26), pytest.approx(36.052), 40.0)}
    rules = [p for p in coverage if p["kind"] == "rule"]
    assert [(r["check_id"], r["at"]) for r in rules] == [("mean_coverage", 30.0)]
    # beyond the strip the picker lists the samples with a check not passed, and takes any ID
    picker = at.selectbox(key="qc_sample")
    assert picker.options == ["S1", "S2"] and picker.proto.accept_new_options
    at = _page({"sample": "S3"})  # a sample not listed, named in the link
    assert not at.exception
    assert at.warning[0].value.startswith("**S3**, run `R3`: QC review")


def test_beyond_the_strip_a_range_of_days_is_binned_in_the_query(many):
    at = _page({"start": "2026-11-02", "end": "2026-11-08"})
    assert not at.exception
    drawn = charts(at)["mean_coverage_x: 3 runs"]["data"]
    bars = next(d for d in drawn if d and "lo" in d[0])
    rules = next(d for d in drawn if d and "at" in d[0])
    # R1, R2, R3 (R4 is on 9 Nov): 40 bins from 25 to 40, 0.375 wide
    assert sorted((b["lo"], b["hi"], b["outcome"], b["runs"]) for b in bars) == [
        (25.0, 25.375, "fail", 1), (34.75, 35.125, "pass", 1), (39.625, 40.0, "pass", 1)]
    assert [(r["check_id"], r["at"]) for r in rules] == [("mean_coverage", 30.0)]
    at.radio(key="qc_split").set_value("project").run()
    assert not at.exception
    panels = next(d for d in charts(at)["mean_coverage_x: 3 runs by project"]["data"]
                  if d and "at" in d[0])
    assert sorted((p["project"], p["lo"], p["runs"], p["at"]) for p in panels) == [
        ("aou", 25.0, 1, 30.0), ("aou", 34.75, 1, 30.0), ("pgx", 39.625, 1, 30.0)]


def test_a_download_built_on_click_reads_every_row_outside_the_page_run(qc_lake):
    """``data.later``: what a download button's callable asks when clicked (another thread, no
    page run): every failed check, not the rows the page showed."""
    import threading

    from analytics.filters import Filters
    from dashboards import data

    everything = data.later("qc.failed_checks", Filters())
    got = []
    clicked = threading.Thread(target=lambda: got.append(everything()))
    clicked.start()
    clicked.join()
    rows, total = got[0]
    assert total == 3 and sorted(rows.column("run_id").to_pylist()) == ["R2", "R3", "R4"]
