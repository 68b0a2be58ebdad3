"""The Failures and Spot page through AppTest: the figures of the hand-checked ops lake, with the
filters set in the sidebar and from a link."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dashboards.ops_lake import write_ops_lake
from tests.dashboards.pages import charts, downloads, metrics, open_page

TABLES = ["failed attempts by kind", "Spot attempts and reclaims", "retried runs by outcome",
          "cost of attempts by outcome"]


@pytest.fixture
def lake(lake_settings) -> str:
    write_ops_lake(lake_settings)
    return lake_settings.lake_uri


def test_failures_reclaims_retries_and_their_cost(lake, monkeypatch):
    at = open_page(lake, "failures", monkeypatch)
    assert not at.exception and not at.error
    assert at.title[0].value == "Failures and Spot"
    assert metrics(at) == {"Failed attempts": "6", "Spot reclaims": "3", "Reclaim rate": "42.9%",
                           "Retried runs": "3", "Spent on unfinished attempts": "$16.00"}
    drawn = charts(at)
    per_day = drawn["Failed attempts per day (UTC)"]
    days = sorted(set(per_day["period"]))
    # every day of the lake (its first cost month to its last run), however quiet
    assert (days[0], days[-1], len(days)) == ("2026-10-01", "2026-11-05", 36)
    quiet = [n for p, n in zip(per_day["period"], per_day["attempts"], strict=True)
             if p == "2026-11-04"]
    assert quiet and set(quiet) == {0}  # a day without failures is drawn as zero
    hours = drawn["Reclaims by hour of day (UTC)"]
    assert hours["hour"] == list(range(24))
    assert {h: n for h, n in zip(hours["hour"], hours["reclaims"], strict=True) if n} == {
        3: 2, 5: 1}
    zones = drawn["Reclaims by availability zone"]
    assert dict(zip(zones["availability_zone"], zones["reclaims"], strict=True)) == {
        "unknown": 0, "us-east-1a": 1, "us-east-1b": 2}
    outcome = drawn["Runs that were retried, by outcome"]
    assert dict(zip(outcome["outcome"], outcome["runs"], strict=True)) == {
        "given up": 1, "succeeded on On-Demand": 1, "succeeded on Spot": 1}
    assert downloads(at) == [f"Download {t} as CSV" for t in TABLES]
    retried = at.dataframe[2].value
    assert retried.set_index("outcome")["attempts"].to_dict() == {
        "given up": 2, "succeeded on On-Demand": 3, "succeeded on Spot": 2}


def test_the_sidebar_filters_narrow_every_figure(lake, monkeypatch):
    at = open_page(lake, "failures", monkeypatch)
    at.multiselect(key="filter_project").set_value(["pgx"]).run()
    assert not at.exception
    assert at.title[0].value == "Failures and Spot"  # the page stays, the sidebar with it
    assert metrics(at) == {"Failed attempts": "3", "Spot reclaims": "0", "Reclaim rate": "0.0%",
                           "Retried runs": "1", "Spent on unfinished attempts": "$6.50"}
    assert at.query_params["project"] == "pgx"  # the view can be shared as a link
    at.multiselect(key="filter_project").set_value([]).run()
    at.date_input(key="filter_dates").set_value((date(2026, 11, 3), date(2026, 11, 4))).run()
    assert not at.exception
    assert metrics(at)["Failed attempts"] == "2"
    assert sorted(set(charts(at)["Failed attempts per day (UTC)"]["period"])) == [
        "2026-11-03", "2026-11-04"]


def test_a_link_with_filters_opens_the_same_view(lake, monkeypatch):
    # workflow is not in the attempts rollup: the facts answer, with the same figures as pgx
    at = open_page(lake, "failures", monkeypatch,
                   {"workflow": "somatic", "start": "2026-11-01", "end": "2026-11-30"})
    assert not at.exception
    assert at.multiselect(key="filter_workflow").value == ["somatic"]
    assert metrics(at) == {"Failed attempts": "3", "Spot reclaims": "0", "Reclaim rate": "0.0%",
                           "Retried runs": "1", "Spent on unfinished attempts": "$6.50"}
    per_day = charts(at)["Failed attempts per day (UTC)"]
    assert len(set(per_day["period"])) == 30  # every day of November, zeros included
    at.radio(key="failures_grain").set_value("month").run()
    per_month = charts(at)["Failed attempts per month (UTC)"]
    assert dict(zip(per_month["failure_kind"], per_month["attempts"], strict=True)) == {
        "application_error": 2, "infrastructure": 1}


def test_the_page_runs_on_the_demo_lake(demo_lake, monkeypatch):
    at = open_page(demo_lake.lake_uri, "failures", monkeypatch)
    assert not at.exception and not at.error
    assert metrics(at)["Failed attempts"].isdigit()
    days = sorted(set(charts(at)["Failed attempts per day (UTC)"]["period"]))
    # the demo's span of days, every one of them drawn (zeros when nothing failed)
    assert len(days) == (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days + 1
