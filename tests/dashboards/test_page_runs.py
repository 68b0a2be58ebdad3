"""The Runs page through AppTest on the hand-checked lake (``tests.analytics.overview_lake``)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.analytics.overview_lake import write_overview_lake
from tests.dashboards.harness import page_test
from tests.dashboards.test_app import _chart


@pytest.fixture
def lake(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    return lake_settings


def _runs(params: dict | None = None) -> AppTest:
    return page_test("runs", params).run()


def test_the_runs_table_lists_every_run_with_its_cost_and_verdict(lake):
    at = _runs()
    assert not at.exception and not at.error
    assert at.title[0].value == "Runs"
    table = at.dataframe[0].value
    assert table["run_id"].tolist() == ["run-5", "run-4", "run-3", "run-2", "run-1"]
    assert dict(zip(table["run_id"], table["qc_verdict"].fillna(""), strict=True)) == {
        "run-5": "", "run-4": "", "run-3": "", "run-2": "review", "run-1": "pass"}
    assert table.loc[table["run_id"] == "run-1", "cost_usd"].item() == pytest.approx(6.75)
    assert "5 of 5 runs" in at.caption[0].value
    # backlog: open runs at the end of 10-30 .. 11-02
    backlog = at.dataframe[-1].value
    assert backlog["open_runs"].tolist() == [1, 0, 0, 1]
    # turnaround weeks: run-1 in the week of 10-26, run-2 in the week of 11-02
    weekly = at.dataframe[-2].value
    medians = {(str(w)[:10], p): m for w, p, m in
               zip(weekly["week"], weekly["part"], weekly["median_h"], strict=True)}
    assert medians[("2026-10-26", "turnaround_h")] == 25.0
    assert medians[("2026-11-02", "qc_h")] == 43.0
    assert at.get("download_button")


def test_the_sidebar_and_status_narrow_the_table(lake):
    at = _runs({"project": "pgx"})
    assert not at.exception
    assert at.dataframe[0].value["run_id"].tolist() == ["run-4", "run-3"]
    at.multiselect(key="runs_status").set_value(["FAILED"]).run()
    assert at.dataframe[0].value["run_id"].tolist() == ["run-3"]
    assert at.query_params["project"] == "pgx"  # still in the link


def test_a_link_with_a_run_opens_its_attempts_decisions_and_costs(lake):
    at = _runs({"run": "run-1"})
    assert not at.exception and not at.error
    assert at.selectbox(key="run_pick").value == "run-1"
    timeline = _chart(at.get("vega_lite_chart")[0])
    assert sorted(zip(timeline["attempt"], timeline["phase"], strict=True)) == [
        ("#1 spot r6i.8xlarge zone ?", "queue wait"),
        ("#1 spot r6i.8xlarge zone ?", "run, Spot reclaim"),
        ("#2 spot r6i.8xlarge zone ?", "queue wait"), ("#2 spot r6i.8xlarge zone ?", "run")]
    assert set(timeline["failure_kind"]) == {"spot_reclaim", "none"}
    tables = [d.value for d in at.dataframe]
    attempts = next(t for t in tables if "queue_s" in t.columns)
    assert attempts["action"].tolist() == ["retry", "complete"]
    costs = next(t for t in tables if "component" in t.columns)
    assert costs["cost_usd"].sum() == pytest.approx(6.75)
    assert any(c.value.startswith("Estimated total $6.75") for c in at.caption)


def test_choosing_a_run_puts_it_in_the_link_and_an_unknown_run_is_named(lake):
    at = _runs()
    at.selectbox(key="run_pick").set_value("run-3").run()
    assert at.query_params["run"] == "run-3"
    assert not at.exception
    # run-3's only attempt ended in an application error: its run is drawn as failed
    assert set(_chart(at.get("vega_lite_chart")[0])["phase"]) == {"queue wait", "run, failed"}
    # narrowed to another project, the chosen run stays open and offered
    at.multiselect(key="filter_project").set_value(["aou-wgs"]).run()
    assert not at.exception
    assert at.selectbox(key="run_pick").value == "run-3"
    assert "run-3" not in at.dataframe[0].value["run_id"].tolist()
    at = _runs({"run": "run-404"})
    assert not at.exception
    assert at.warning[0].value.startswith("No run run-404 in the lake")


def test_the_timeline_names_the_zone_of_each_attempts_instance(lake):
    from lake.store import LakeStore
    from tests.analytics.overview_lake import HOST, HOST_ZONE, place_the_reclaimed_attempt

    place_the_reclaimed_attempt(LakeStore(lake))
    at = _runs({"run": "run-1"})
    assert not at.exception and not at.error
    timeline = _chart(at.get("vega_lite_chart")[0])
    assert sorted(set(zip(timeline["attempt"], timeline["instance"], timeline["zone"],
                          strict=True))) == [
        (f"#1 spot r6i.8xlarge {HOST_ZONE}", HOST, HOST_ZONE),
        ("#2 spot r6i.8xlarge zone ?", None, None)]
