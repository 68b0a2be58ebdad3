"""The Releases page through AppTest over the lake of ``tests/dashboards/qc_lake.py``."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dashboards.apptest import charts, open_page
from tests.dashboards.qc_lake import TEST_COVERAGE, write_qc_lake

# R4 is the real DRAGEN run TEST: Total runtime 00:01:32.032
R4_RUNTIME_H = 92.032 / 3600


@pytest.fixture
def qc_lake(lake_settings, reference, monkeypatch):
    write_qc_lake(lake_settings, reference / "dragen" / "TEST")
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    return lake_settings


def _by_release(at) -> dict[str, dict]:
    table = at.dataframe[0].value
    return {r["release"]: r for r in table.to_dict("records")}


def test_each_release_with_its_samples_verdicts_cost_and_runtime(qc_lake):
    at = open_page("releases")
    assert not at.exception
    releases = _by_release(at)
    assert list(releases) == ["rel-1", "rel-2"]  # oldest first
    one, two = releases["rel-1"], releases["rel-2"]
    assert (one["runs"], one["samples"], one["QC pass"], one["QC review"], one["QC fail"]) == (
        2, 2, 1, 0, 1)
    assert (two["runs"], two["samples"], two["QC pass"], two["QC review"], two["QC fail"]) == (
        2, 2, 0, 1, 1)
    assert one["median cost per run (USD)"] == 11.0 and two["median cost per run (USD)"] == 25.0
    assert one["median DRAGEN runtime (h)"] == 2.0
    assert two["median DRAGEN runtime (h)"] == round((2.0 + R4_RUNTIME_H) / 2, 2)
    assert one["validation"] == "not validated"
    assert any(i.value == "No release has been validated yet." for i in at.info)

    # the newest release against the one before it, run by run
    assert at.selectbox(key="rel_release").value == "rel-2"
    assert at.selectbox(key="rel_against").value == "rel-1"
    drawn = charts(at)
    cost = [(p["pipeline_release"], p["run_id"], p["value"])
            for layer in drawn["cost_usd by release"]["data"] for p in layer]
    assert sorted(set(cost)) == [("rel-1", "R1", 10.0), ("rel-1", "R2", 12.0),
                                 ("rel-2", "R3", 20.0), ("rel-2", "R4", 30.0)]
    coverage = {p["run_id"]: p["value"]
                for layer in drawn["mean_coverage_x by release"]["data"] for p in layer}
    assert coverage == {"R1": 35.0, "R2": 25.0, "R3": 40.0, "R4": TEST_COVERAGE}
    labels = [b.label for b in at.get("download_button")]
    assert "Download releases (CSV)" in labels and "Download runs (CSV)" in labels


def test_like_for_like_samples_and_the_release_picked(qc_lake):
    at = open_page("releases")
    at.checkbox(key="rel_same").check().run()
    assert not at.exception
    # S1 ran under both releases (R1, R4); S2 and S3 under one
    assert "rel-1: 1 runs · rel-2: 1 runs" in [c.value for c in at.caption]
    runs = next(d.value for d in at.dataframe if "run_id" in d.value.columns)
    assert sorted(runs["run_id"]) == ["R1", "R4"]

    at.selectbox(key="rel_release").set_value("rel-1").run()
    assert at.selectbox(key="rel_against").value == "rel-2"


def test_filters_from_the_link_and_the_sidebar(qc_lake):
    at = open_page("releases", {"project": "aou"})
    assert not at.exception
    releases = _by_release(at)
    assert (releases["rel-1"]["runs"], releases["rel-2"]["runs"]) == (2, 0)
    # only rel-1 has runs in the selection: nothing to compare it with
    assert at.selectbox(key="rel_release").options == ["rel-1"]
    assert not [s for s in at.selectbox if s.key == "rel_against"]

    at = open_page("releases")
    at.date_input(key="filter_dates").set_value((date(2026, 11, 3), date(2026, 11, 9))).run()
    assert not at.exception
    releases = _by_release(at)
    assert (releases["rel-1"]["runs"], releases["rel-2"]["runs"]) == (0, 2)
    assert at.query_params["start"] in ("2026-11-03", ["2026-11-03"])
