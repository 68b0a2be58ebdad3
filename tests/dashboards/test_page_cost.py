"""The Cost page through AppTest: estimated and billed figures of the hand-checked ops lake,
with the filters set in the sidebar and from a link."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dashboards.ops_lake import write_ops_lake
from tests.dashboards.pages import charts, downloads, metrics, open_page

TABLES = ["cost per month", "cost by project", "cost by component",
          "prices that are assumptions", "cost per sample", "savings",
          "estimated against billed per month and project", "untagged spend"]


@pytest.fixture
def lake(lake_settings) -> str:
    write_ops_lake(lake_settings)
    return lake_settings.lake_uri


def _table(at, name: str):
    """The table whose CSV button is labelled with ``name``."""
    return at.dataframe[[b.removeprefix("Download ").removesuffix(" as CSV")
                         for b in downloads(at)].index(name)].value


def test_estimated_billed_components_samples_and_savings(lake, monkeypatch):
    at = open_page(lake, "cost", monkeypatch)
    assert not at.exception and not at.error
    assert metrics(at) == {
        "Estimated": "$46.80", "Billed": "$7.10", "Billed − estimated": "-$39.70",
        "Billed without project or cost centre": "$3.00", "Priced with assumptions": "53.4%",
        "Samples": "5", "Median per sample": "$9.00", "90th percentile": "$17.80",
        "Mean per sample": "$9.36"}
    assert downloads(at) == [f"Download {t} as CSV" for t in TABLES]
    drawn = charts(at)
    sides = drawn["Estimated and billed cost per month (USD)"]
    assert {(p, s): round(u, 6) for p, s, u in zip(sides["period"], sides["side"], sides["usd"],
                                                    strict=True)} == {
        ("2026-10", "estimated"): 9.0, ("2026-10", "billed"): 0.0,
        ("2026-11", "estimated"): 37.796, ("2026-11", "billed"): 7.1}
    by_project = _table(at, "cost by project").set_index("project")
    assert by_project.round(6).to_dict("index") == {
        "aou": {"estimated_usd": 40.296, "billed_usd": 4.1},
        "pgx": {"estimated_usd": 6.5, "billed_usd": 0.0},
        "(untagged)": {"estimated_usd": 0.0, "billed_usd": 3.0}}
    components = drawn["Estimated cost per month by component (USD)"]
    assert sorted(set(zip(components["cost_kind"], components["price"], strict=True))) == [
        ("compute", "list price"), ("licence", "assumption"), ("storage", "list price"),
        ("storage_transition", "list price")]
    assert _table(at, "prices that are assumptions")["cost_usd"].tolist() == [25.0]
    savings = _table(at, "savings").set_index("scenario")
    assert savings.loc["archival vs all-standard (estimated)", "saving_usd"] == pytest.approx(
        11.5 - 2.796)

    at.selectbox(key="cost_by").set_value("cost_centre").run()
    assert not at.exception
    by_centre = _table(at, "cost by cost centre").set_index("cost_centre")["estimated_usd"]
    assert by_centre.round(6).to_dict() == {"cc-1": 40.296, "cc-2": 6.5, "(untagged)": 0.0}


def test_a_link_with_a_date_range_reads_those_days(lake, monkeypatch):
    at = open_page(lake, "cost", monkeypatch, {"start": "2026-11-03", "end": "2026-11-05"})
    assert not at.exception
    assert metrics(at)["Estimated"] == "$20.00" and metrics(at)["Billed"] == "$2.30"
    at.radio(key="cost_grain").set_value("day").run()
    per_day = _table(at, "cost per day")
    assert per_day.round(6).values.tolist() == [
        ["2026-11-03", 13.5, 2.3], ["2026-11-04", 0.0, 0.0], ["2026-11-05", 6.5, 0.0]]


def test_the_sidebar_narrows_and_says_what_it_cannot_narrow(lake, monkeypatch):
    at = open_page(lake, "cost", monkeypatch)
    at.multiselect(key="filter_project").set_value(["pgx"]).run()
    assert not at.exception
    assert metrics(at)["Estimated"] == "$6.50" and metrics(at)["Billed"] == "—"
    assert at.info[0].value.startswith("No billed cost in this selection")
    notes = [c.value for c in at.caption if "Not narrowed" in c.value]
    assert notes == [
        ":material/filter_alt_off: Not narrowed by project: savings are kept per month, "
        "without tags.",
        ":material/filter_alt_off: Not narrowed by project: untagged spend has no tags to "
        "filter on."]
    reconcile = _table(at, "estimated against billed per month and project")
    assert reconcile["project"].tolist() == ["pgx"]
    at.date_input(key="filter_dates").set_value((date(2026, 10, 1), date(2026, 10, 31))).run()
    assert metrics(at)["Estimated"] == "$0.00"


def test_the_page_runs_on_the_demo_lake(demo_lake, monkeypatch):
    at = open_page(demo_lake.lake_uri, "cost", monkeypatch)
    assert not at.exception and not at.error
    assert metrics(at)["Estimated"].startswith("$")
    assert int(metrics(at)["Samples"]) > 0


def test_money_and_sizes_read_as_people_write_them():
    from dashboards.page_parts import size, usd

    assert [usd(46.796), usd(-39.696), usd(1138.47, 1000), usd(-2500.0, 1000), usd(None)] == [
        "$46.80", "-$39.70", "$1,138", "-$2,500", "—"]
    assert [size(500 * 2**30), size(3 * 2**40), size(512), size(None)] == [
        "500.0 GiB", "3.0 TiB", "512 B", "—"]
