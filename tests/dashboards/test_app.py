"""The dashboard through Streamlit's AppTest: figures from a lake with data, and an empty lake."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.analytics.overview_lake import write_overview_lake

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def _app(lake_uri: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_uri)
    return AppTest.from_file(str(APP), default_timeout=60).run()


def test_overview_shows_the_lake_figures(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "DRAGEN runs overview"
    assert {m.label: m.value for m in at.metric} == {
        "Samples": "4", "Runs": "5", "Attempts": "7", "Spot reclaims": "3", "Failed runs": "2",
        "Runs in progress": "1", "QC pass rate": "50.0%", "Estimated cost": "$11.60"}
    assert f"Lake: `{lake_settings.lake_uri}`" in at.caption[0].value
    by_reason, by_kind, recent = (d.value for d in at.dataframe)
    assert by_reason.values.tolist() == [["application_error: exit 1", 1], ["unknown", 1]]
    assert by_kind.values.tolist() == [["spot_reclaim", 3], ["application_error", 1]]
    assert recent["run_id"].tolist() == ["run-5", "run-3"]
    throughput, cost = (_chart(c) for c in at.get("vega_lite_chart"))
    assert throughput["spec"]["encoding"]["x"] == {"field": "period", "title": "day",
                                                   "type": "ordinal"}
    assert sorted(zip(throughput["period"], throughput["status"], throughput["runs"],
                      strict=True)) == [("2026-10-31", "SUCCEEDED", 1), ("2026-11-01", "FAILED", 1),
                                        ("2026-11-01", "SUCCEEDED", 1), ("2026-11-02", "FAILED", 1)]
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
    # overview (5 queries, from the rollups) + throughput, cost by project, failures (3):
    # the sidebar's filter options (1): 11 DuckDB queries, no scan
    assert footer.startswith("Queries behind this page: 11 duckdb queries, "), footer
    assert "scanned" not in footer


def _chart(element) -> dict:
    """A chart's Vega-Lite spec and its data (Arrow IPC in the element's proto) as columns."""
    proto = element.proto
    (dataset,) = proto.datasets
    data = pa.ipc.open_stream(dataset.data.data).read_all().to_pydict()
    return {"spec": json.loads(proto.spec), **data}


def test_an_empty_lake_shows_a_friendly_message(lake_settings, monkeypatch):
    Path(lake_settings.lake_uri).mkdir()
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception and not at.error
    assert at.info[0].value.startswith("No data yet — run `seqledger demo`")
    assert len(at.metric) == 0


def test_a_corrupt_file_is_named_and_the_rest_of_the_lake_shown(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    bad = Path(lake_settings.lake_uri) / "runs" / "month=2026-11" / "part-broken.parquet"
    bad.write_bytes(b"not parquet at all")
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception and not at.error
    assert at.warning[0].value.startswith(f"skipped the unreadable file {bad} ")
    assert {m.label: m.value for m in at.metric}["Attempts"] == "7"  # the other tables are read


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: None, "no lake at {p} (the path does not exist)"),
    (lambda p: p.write_text("not a lake"), "the lake {p} is a file, not a folder"),
], ids=["missing", "a file"])
def test_a_lake_that_is_not_there_is_an_error_not_no_data(tmp_path, monkeypatch, make, says):
    lake = tmp_path / "mistyped-lake"
    make(lake)
    at = _app(str(lake), monkeypatch)
    assert not at.exception and not at.info and not at.metric
    assert at.error[0].value.startswith(says.format(p=lake))
