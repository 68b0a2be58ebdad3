"""The Cost page through AppTest: estimated and billed figures of the hand-checked ops lake,
with the filters set in the sidebar and from a link."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from tests.dashboards.ops_lake import t, write_ops_lake
from tests.dashboards.pages import charts, downloads, metrics, open_page

TABLES = ["cost per month", "cost by project", "cost by component", "automation by item",
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
    # No service price in this lake: the automation's events are there, unpriced.
    assert sorted(set(zip(components["cost_kind"], components["price"], strict=True))) == [
        ("automation", "unpriced"), ("compute", "list price"), ("licence", "assumption"),
        ("storage", "list price"), ("storage_transition", "list price")]
    assert _table(at, "prices that are assumptions")["cost_usd"].tolist() == [25.0]
    savings = _table(at, "savings").set_index("scenario")
    assert savings.loc["archival vs all-standard (estimated)", "saving_usd"] == pytest.approx(
        11.5 - 2.796)

    at.selectbox(key="cost_by").set_value("cost_centre").run()
    assert not at.exception
    by_centre = _table(at, "cost by cost centre").set_index("cost_centre")["estimated_usd"]
    assert by_centre.round(6).to_dict() == {"cc-1": 40.296, "cc-2": 6.5, "(untagged)": 0.0}


def test_billing_lines_are_read_per_sample_and_per_usage_type_only_when_asked(lake, monkeypatch):
    """Billed per sample and the untagged lines' tag status and usage type have no rollup: the
    first render leaves them out, a toggle reads them from the billing lines."""
    at = open_page(lake, "cost", monkeypatch)
    assert "billed_usd" not in _table(at, "cost per sample").columns
    assert _table(at, "untagged spend").values.tolist() == [["2026-11", "line", "AmazonS3", 1,
                                                             3.0]]
    at.toggle(key="cost_sample_billed").set_value(True).run()
    at.toggle(key="cost_untagged_detail").set_value(True).run()
    assert not at.exception and not at.error
    billed = _table(at, "cost per sample").set_index("sample_id")["billed_usd"]
    assert billed.round(6).to_dict() == pytest.approx(
        {"S-A": 1.80, "S-B": 2.30, "S-E": float("nan"), "S-C": float("nan"),
         "S-D": float("nan")}, nan_ok=True)
    (line,) = _table(at, "untagged spend by tag status and usage type").to_dict("records")
    assert (line["tag_status"], line["product_code"], line["cost_usd"]) == (
        "untagged", "AmazonS3", 3.0)


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


# Service prices as the shipped table has them (USD per unit), all approximate.
SERVICE_PRICES = {"lambda-requests": ("1M requests", 0.20),
                  "lambda-duration": ("GB-s", 0.0000166667),
                  "sns-publish": ("1M requests", 0.50),
                  "sns-lambda-delivery": ("1M requests", 0.0),
                  "eventbridge-aws-event": ("1M events", 0.0)}


def test_automation_is_a_component_priced_from_the_lakes_events(lake_settings, monkeypatch):
    """The ops lake's Batch state changes (October: run-E's 3; November: 8 attempts x 3) and
    four arriving objects in November, priced with approximate service prices."""
    store = write_ops_lake(lake_settings)
    store.write("prices", [
        {"price_kind": "service", "region": "us-east-1", "item": item, "availability_zone": "",
         "unit": unit, "usd": usd, "effective_from_at": datetime(2020, 12, 1, tzinfo=UTC),
         "price_status": "approximate", "source": "test"}
        for item, (unit, usd) in SERVICE_PRICES.items()])
    store.write("arrivals", [
        {"arrival_id": f"a{i}", "object_uri": f"s3://in/aou/S-A/S-A_L00{i}_R1.fastq.gz",
         "etag": f"e{i}", "event_at": t(11, 1, i)} for i in range(1, 5)])
    at = open_page(lake_settings.lake_uri, "cost", monkeypatch)
    assert not at.exception and not at.error
    drawn = pd.DataFrame(charts(at)["Estimated cost per month by component (USD)"])
    auto = drawn[drawn["cost_kind"] == "automation"].set_index("month")
    gb_s = 0.25 * 0.2  # 256 MB for 200 ms per Lambda run, assumed
    november = 28 / 1e6 * 0.20 + 28 * gb_s * 0.0000166667 + 4 / 1e6 * 0.50
    october = 3 / 1e6 * 0.20 + 3 * gb_s * 0.0000166667
    assert auto["cost_usd"].to_dict() == {"2026-10": pytest.approx(october, rel=1e-9),
                                          "2026-11": pytest.approx(november, rel=1e-9)}
    assert set(auto["price"]) == {"assumption"}
    items = _table(at, "automation by item")
    assert items[items["month"] == "2026-11"].set_index("item")[
        ["job_events", "object_events"]].drop_duplicates().values.tolist() == [[24, 4]]
    assert any("Automation" in c.value and "$0.000034" in c.value for c in at.caption)

    # A project's cost has no share of the automation: left out, and said so.
    at.multiselect(key="filter_project").set_value(["pgx"]).run()
    assert "automation" not in set(charts(at)["Estimated cost per month by component (USD)"][
        "cost_kind"])
    assert any(c.value.startswith(":material/filter_alt_off: Automation is left out")
               for c in at.caption)
