"""The Storage page through AppTest: bytes, cost and archival of the hand-checked ops lake, and
what it says when the lake has no storage rows."""

from __future__ import annotations

import pytest

from tests.dashboards.ops_lake import write_ops_lake
from tests.dashboards.pages import charts, downloads, metrics, open_page


@pytest.fixture
def lake(lake_settings) -> str:
    write_ops_lake(lake_settings)
    return lake_settings.lake_uri


def test_bytes_cost_by_class_and_what_archival_saved(lake, monkeypatch):
    at = open_page(lake, "storage", monkeypatch)
    assert not at.exception and not at.error and not at.info
    assert metrics(at) == {"Stored, latest month": "500.0 GiB", "S3 storage cost": "$2.70",
                           "Objects archived": "2,000", "Saved by archival": "$8.70",
                           "Stored (inventories)": "32.0 GB-months", "Cost as stored": "$0.08",
                           "Saved against all-Standard": "$0.66"}
    drawn = charts(at)
    stored = drawn["Average stored per month (GiB)"]
    assert dict(zip(stored["storage_class"], stored["gb_months"], strict=True)) == {
        "DEEP_ARCHIVE": 400.0, "STANDARD": 100.0}
    sides = drawn["Storage cost with archival and all in S3 Standard (USD)"]
    assert {s: round(u, 6) for s, u in zip(sides["side"], sides["usd"], strict=True)} == {
        "with archival": 2.796, "all in S3 Standard": 11.5}
    assert downloads(at) == ["Download storage by class and project as CSV",
                             "Download archival per month as CSV",
                             "Download inventoried storage by class and project as CSV"]
    by_class = at.dataframe[0].value
    assert by_class["average_bytes"].tolist() == [400 * 2**30, 100 * 2**30]
    # what the inventories listed (S3 Inventory rows of the lake), priced both ways
    measured = at.dataframe[2].value
    assert dict(zip(measured["storage_class"], measured["gb_months"], strict=True)) == {
        "DEEP_ARCHIVE": 30.0, "STANDARD": 2.0}


def test_a_project_without_storage_rows_is_said_so(lake, monkeypatch):
    at = open_page(lake, "storage", monkeypatch, {"project": "pgx"})
    assert not at.exception
    assert at.info[0].value.startswith("No S3 storage rows for run outputs in this selection")
    assert metrics(at) == {"Stored, latest month": "—", "S3 storage cost": "$0.00",
                           "Objects archived": "0", "Saved by archival": "$0.00",
                           # pgx's VCF is inventoried in Standard: nothing saved
                           "Stored (inventories)": "2.0 GB-months", "Cost as stored": "$0.05",
                           "Saved against all-Standard": "$0.00"}
    at.multiselect(key="filter_project").set_value(["aou"]).run()
    assert not at.exception and not at.info
    assert metrics(at)["Saved by archival"] == "$8.70"


def test_the_page_runs_on_the_demo_lake(demo_lake, monkeypatch):
    at = open_page(demo_lake.lake_uri, "storage", monkeypatch)
    assert not at.exception and not at.error
    # The demo writes no S3 storage rows, only the jobs' scratch volumes: it says so.
    assert "scratch volumes (EBS_SCRATCH)" in at.info[0].value
    assert set(charts(at)["Average stored per month (GiB)"]["storage_class"]) == {"EBS_SCRATCH"}
