"""The dashboard through Streamlit's AppTest: the overview's figures, trend and attention list,
filters from the link, a change of the lake shown at the next load, sign-in."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.analytics.overview_lake import write_overview_lake
from tests.dashboards.harness import page_test

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def _app(lake_uri: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_uri)
    return AppTest.from_file(str(APP), default_timeout=60).run()


def test_overview_shows_the_lake_figures(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "DRAGEN runs overview"
    metrics = {m.label: m.value for m in at.metric}
    assert {k: metrics[k] for k in list(metrics)[:8]} == {
        "Samples": "4", "Runs": "5", "Attempts": "7", "Spot reclaims": "3", "Failed runs": "2",
        "Runs in progress": "1", "QC pass rate": "50.0%", "Estimated cost": "$11.60"}
    assert f"Lake: `{lake_settings.lake_uri}`" in at.sidebar.caption[0].value
    by_reason, by_kind, recent = (d.value for d in at.dataframe[-3:])
    assert by_reason.values.tolist() == [["application_error: exit 1", 1], ["unknown", 1]]
    assert by_kind.values.tolist() == [["spot_reclaim", 3], ["application_error", 1]]
    assert recent["run_id"].tolist() == ["run-5", "run-3"]
    throughput, cost = (_chart(c) for c in at.get("vega_lite_chart"))
    assert throughput["spec"]["encoding"]["x"] == {"field": "period", "title": "day",
                                                   "type": "ordinal"}
    assert sorted(zip(throughput["period"], throughput["status"], throughput["runs"],
                      strict=True)) == [
        ("2026-10-31", "FAILED", 0), ("2026-10-31", "SUCCEEDED", 1),
        ("2026-11-01", "FAILED", 1), ("2026-11-01", "SUCCEEDED", 1),
        ("2026-11-02", "FAILED", 1), ("2026-11-02", "SUCCEEDED", 0)]  # days without: zeros
    assert dict(zip(cost["project"], cost["cost_usd"], strict=True)) == pytest.approx(
        {"aou-wgs": 10.75, "pgx": 0.75, "(untagged)": 0.10})

    at.radio(key="grain").set_value("month").run()
    assert not at.exception
    monthly = _chart(at.get("vega_lite_chart")[0])
    assert sorted(set(monthly["period"])) == ["2026-10", "2026-11"]


def test_the_footer_names_the_engine_and_the_queries_behind_the_page(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    at = _app(lake_settings.lake_uri, monkeypatch)
    (footer,) = [c.value for c in at.caption if c.value.startswith("Queries behind this page")]
    # overview (5 queries, from the rollups), the sidebar's filter options (1), this month, last
    # month and the period (3 each), what needs attention (4), daily runs (1), cost by project
    # (1), failures by reason and by kind (2), the latest failed runs (3: their months and count
    # from runs_daily, those months' runs, the rows): 26 DuckDB queries, no scan
    assert footer.startswith("Queries behind this page: 26 duckdb queries, "), footer
    assert "scanned" not in footer


def _chart(element) -> dict:
    """A chart's Vega-Lite spec and its data (Arrow IPC in the element's proto) as columns."""
    proto = element.proto
    (dataset,) = proto.datasets
    data = pa.ipc.open_stream(dataset.data.data).read_all().to_pydict()
    return {"spec": json.loads(proto.spec), **data}


def test_this_month_against_last_and_what_needs_attention(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_MONTHLY_BUDGET_USD", "10")
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception
    m = {x.label: x for x in at.metric}
    # the lake's latest day is 2026-11-02: November so far against October
    assert (m["Runs finished this month"].value, m["Runs finished this month"].proto.delta) == (
        "3", "+2")
    assert (m["Failed runs this month"].value, m["Failed runs this month"].proto.delta) == (
        "2", "+2")
    assert m["Estimated cost this month"].proto.delta == "+11.60 USD"
    assert m["QC pass rate this month"].value == "100.0%"  # run-2's verdict came on 11-03
    # run-4 has been open since 2026-11-02: longer than 24 h by now
    assert m["Runs open > 24 h"].value == "1"
    assert m["QC reviews pending"].value == "1"
    assert m["Samples waiting for mates"].value == "0"
    stuck = next(d.value for d in at.dataframe if "open_h" in d.value.columns)
    assert stuck["run_id"].tolist() == ["run-4"]
    # no cost is booked in the current month of the clock: 0 % of the budget
    assert m[next(k for k in m if k.startswith("Spend this month"))].value == "0%"
    assert len(at.get("download_button")) == 5  # stuck runs, reviews, three failure tables


def test_a_link_with_filters_opens_filtered_and_a_bad_one_warns(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"project": "aou-wgs", "start": "2026-11-01", "end": "2026-11-02"})
    at.run()
    assert not at.exception
    assert at.multiselect(key="filter_project").value == ["aou-wgs"]
    m = {x.label: x.value for x in at.metric}
    assert m["Runs finished in the period"] == "2"  # run-2 (ok) and run-5 (failed)
    assert m["Failed runs in the period"] == "1"
    throughput = _chart(at.get("vega_lite_chart")[0])
    assert sorted(zip(throughput["period"], throughput["status"], throughput["runs"],
                      strict=True)) == [("2026-11-01", "FAILED", 0), ("2026-11-01", "SUCCEEDED", 1),
                                        ("2026-11-02", "FAILED", 1), ("2026-11-02", "SUCCEEDED", 0)]

    by_reason, _, recent = (d.value for d in at.dataframe[-3:])
    assert by_reason.values.tolist() == [["unknown", 1]]  # run-3 (pgx) is not in the selection
    assert recent["run_id"].tolist() == ["run-5"]
    cost = _chart(at.get("vega_lite_chart")[1])
    assert dict(zip(cost["project"], cost["cost_usd"], strict=True)) == pytest.approx(
        {"aou-wgs": 10.75})

    bad = AppTest.from_file(str(APP), default_timeout=60)
    bad.query_params.update({"start": "yesterday", "project": "pgx"})
    bad.run()
    assert not bad.exception
    assert bad.sidebar.warning[0].value.startswith("The link's filters were ignored: ")
    assert {x.label: x.value for x in bad.metric}["Runs"] == "5"


def test_a_new_file_in_the_lake_shows_at_the_next_load_not_after_a_timer(lake_settings,
                                                                          monkeypatch):
    from datetime import UTC, datetime

    from lake.store import LakeStore

    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    # the shell runs again on every load (AppTest's rerun of app.py would run the page alone)
    at = page_test("overview").run()
    assert {m.label: m.value for m in at.metric}["Runs"] == "5"
    LakeStore(lake_settings).write("runs", [{
        "run_id": "run-6", "sample_id": "S6", "project": "pgx", "status": "DISPATCHED",
        "status_at": datetime(2026, 11, 2, 3, tzinfo=UTC)}])
    at.run()
    assert {m.label: m.value for m in at.metric}["Runs"] == "6"


def test_with_sign_in_configured_nobody_sees_a_page_before_signing_in(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    at = page_test("overview")
    at.secrets["auth"] = {"redirect_uri": "https://dash.example.org/oauth2callback",
                          "cookie_secret": "s", "client_id": "c", "client_secret": "x",
                          "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Sign in with your organisation's account")
    assert at.button[0].label == "Sign in"
    assert not at.metric
    at.user = {"is_logged_in": True, "email": "ops-lead@genome.example.org", "name": "Ops Lead"}
    at.run()
    assert not at.exception
    assert at.sidebar.caption[0].value == "Signed in as **ops-lead@genome.example.org**"
    assert {m.label: m.value for m in at.metric}["Runs"] == "5"


def test_one_page_runs_with_the_sidebar_around_it(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    at = page_test("overview", {"project": "pgx"}).run()
    assert not at.exception
    assert at.multiselect(key="filter_project").value == ["pgx"]
    assert at.main.caption[-1].value.startswith("Queries behind this page:")
    assert at.sidebar.caption[0].value == f"Lake: `{lake_settings.lake_uri}`"
