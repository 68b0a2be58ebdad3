"""Cost page queries and the storage and period helpers on the hand-checked ops lake."""

from __future__ import annotations

from datetime import date

import pytest

from analytics import cost_trends, periods, storage
from analytics.engine import open_engine
from analytics.filters import Filters
from tests.analytics.trino_roundtrip import Recorder, assert_same_on_trino
from tests.dashboards.ops_lake import write_ops_lake


@pytest.fixture
def engine(lake_settings):
    write_ops_lake(lake_settings)
    e = open_engine(lake_settings)
    yield e
    e.close()


def rounded(x):
    """Floats rounded to a micro-dollar, inside dicts and tuples (sums of cents are inexact)."""
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return type(x)(rounded(v) for v in x)
    return round(x, 6) if isinstance(x, float) else x


def _series(table) -> dict:
    return rounded({tuple(v for k, v in r.items() if k in ("period", "group")):
                    (r["estimated_usd"], r["billed_usd"]) for r in table.to_pylist()})


def test_estimated_beside_billed_per_month_from_the_rollup_and_per_day(engine):
    assert _series(cost_trends.over_time(engine, Filters())) == {
        ("2026-10",): (9.0, 0.0), ("2026-11",): (37.796, 7.10)}
    days = _series(cost_trends.over_time(
        engine, Filters(start=date(2026, 11, 1), end=date(2026, 11, 5)), "day"))
    assert days == {
        ("2026-11-01",): (2.796, 0.0), ("2026-11-02",): (15.0, 1.80),
        ("2026-11-03",): (13.5, 2.30), ("2026-11-04",): (0.0, 0.0), ("2026-11-05",): (6.5, 0.0)}


def test_a_range_that_cuts_a_month_reads_the_cost_rows_not_the_monthly_rollup(engine):
    f = Filters(start=date(2026, 11, 3), end=date(2026, 11, 5))
    assert not cost_trends.whole_months(f)
    assert cost_trends.whole_months(Filters(start=date(2026, 11, 1), end=date(2026, 11, 30)))
    assert _series(cost_trends.over_time(engine, f)) == {("2026-11",): (20.0, 2.30)}


def test_cost_by_any_tag_untagged_billing_included(engine):
    by_project = _series(cost_trends.over_time(engine, Filters(), "month", "project"))
    assert by_project == {
        ("2026-10", "aou"): (9.0, 0.0), ("2026-10", "pgx"): (0.0, 0.0),
        ("2026-10", "(untagged)"): (0.0, 0.0), ("2026-11", "aou"): (31.296, 4.10),
        ("2026-11", "pgx"): (6.5, 0.0), ("2026-11", "(untagged)"): (0.0, 3.0)}
    users = _series(cost_trends.over_time(engine, Filters(project=("pgx",)), "month",
                                          "requested_by"))
    assert users == {("2026-11", "pgx-lead"): (6.5, 0.0)}
    with pytest.raises(ValueError, match="cannot split cost by 'colour'"):
        cost_trends.over_time(engine, Filters(), "month", "colour")


def test_components_with_their_price_status_and_the_prices_that_are_assumptions(engine):
    rows = {(r["month"], r["cost_kind"], r["price_status"]): r["cost_usd"]
            for r in cost_trends.by_component(engine, Filters()).to_pylist()}
    assert rows == pytest.approx({
        ("2026-10", "compute", "list"): 4.0, ("2026-10", "licence", "assumed"): 5.0,
        ("2026-11", "compute", "list"): 15.0, ("2026-11", "licence", "assumed"): 20.0,
        ("2026-11", "storage", "list"): 2.696, ("2026-11", "storage_transition", "list"): 0.10})
    (assumed,) = cost_trends.assumed_prices(engine, Filters()).to_pylist()
    assert (assumed["cost_kind"], assumed["price_status"], assumed["line_count"],
            assumed["cost_usd"]) == ("licence", "assumed", 5, 25.0)


def test_cost_per_sample_and_its_distribution(engine):
    rows = cost_trends.per_sample(engine, Filters()).to_pylist()
    assert [(r["sample_id"], r["estimated_usd"], r["billed_usd"]) for r in rows] == [
        ("S-A", pytest.approx(17.796), pytest.approx(1.80)), ("S-B", 13.5, pytest.approx(2.30)),
        ("S-E", 9.0, None), ("S-C", 5.5, None), ("S-D", 1.0, None)]
    stats = cost_trends.distribution([r["estimated_usd"] for r in rows])
    assert stats == pytest.approx({"median": 9.0, "p90": 17.796, "mean": 46.796 / 5})
    assert cost_trends.distribution([]) == {"median": None, "p90": None, "mean": None}


def test_whole_months_read_no_billing_line_unless_billed_per_sample_is_asked(engine):
    """Issue 14: on a year of billing, the page's first render read every billing line (the
    billed side per month and per tag, billed per sample, untagged spend)."""
    rec = Recorder(engine)
    november = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), project=("aou", None))
    for f in (Filters(), november):
        by_month = _series(cost_trends.over_time(rec, f))
        by_tag = cost_trends.over_time(rec, f, "month", "cost_centre")
        assert not [sql for sql, _ in rec.sent if "billed_allocated" in sql]
        samples = cost_trends.per_sample(rec, f, billed=False)
        spend = cost_trends.untagged_by_service(rec, f).to_pylist()
    assert not [sql for sql, _ in rec.sent if "billed_allocated" in sql or "untagged_spend" in sql]
    assert by_month == {("2026-11",): (31.296, 7.10)}
    assert _series(by_tag) == {("2026-11", "cc-1"): (31.296, 4.10),
                               ("2026-11", "(untagged)"): (0.0, 3.0)}
    assert samples.column("billed_usd").null_count == samples.num_rows == 2
    assert rounded([(r["month"], r["allocation"], r["product_code"], r["line_count"],
                     r["cost_usd"]) for r in spend]) == [("2026-11", "line", "AmazonS3", 1, 3.0)]
    full = cost_trends.per_sample(engine, november).to_pylist()
    assert rounded({r["sample_id"]: r["billed_usd"] for r in full}) == {
        "S-A": 1.80, "S-B": 2.30}


def test_savings_reconciliation_and_untagged_for_the_selected_months(engine):
    archival = sorted((r["scenario"], r["month"], r["baseline_usd"], r["actual_usd"])
                      for r in cost_trends.savings(engine, Filters()).to_pylist()
                      if r["scenario"].startswith("archival"))
    # the lifecycle model's estimate, and what the inventories measured (32 GB-months)
    assert archival == [
        ("archival vs all-standard (estimated)", "2026-11", pytest.approx(11.5),
         pytest.approx(2.796)),
        ("archival vs all-standard (inventory)", "2026-11", pytest.approx(32 * 0.023),
         pytest.approx(30 * 0.00099 + 2 * 0.023))]
    october = Filters(start=date(2026, 10, 15), end=date(2026, 10, 31))
    assert cost_trends.savings(engine, october).num_rows == 0
    rec = {(r["month"], r["project"]): (r["estimated_usd"], r["billed_usd"], r["residual_usd"])
           for r in cost_trends.reconciliation(engine, Filters(project=("aou", None)))
           .to_pylist()}
    assert rounded(rec) == {("2026-10", "aou"): (9.0, 0.0, -9.0),
                            ("2026-11", "aou"): (31.296, 4.10, -27.196),
                            ("2026-11", "(untagged)"): (0.0, 3.0, 3.0)}
    (line,) = cost_trends.untagged(engine, Filters()).to_pylist()
    assert (line["month"], line["tag_status"], line["product_code"], line["cost_usd"]) == (
        "2026-11", "untagged", "AmazonS3", 3.0)
    assert cost_trends.untagged(engine, october).num_rows == 0


def test_storage_bytes_and_cost_by_class_and_what_archival_saved(engine):
    rows = {r["storage_class"]: (r["gb_months"], r["average_bytes"], r["cost_usd"])
            for r in storage.by_class(engine, Filters()).to_pylist()}
    assert rounded(rows) == {"STANDARD": (100.0, 100 * 2**30, 2.30),
                             "DEEP_ARCHIVE": (400.0, 400 * 2**30, 0.396)}
    (month,) = storage.archival(engine, Filters()).to_pylist()
    assert month == pytest.approx({
        "month": "2026-11", "archived_gb_months": 400.0, "transitions": 2000,
        "transition_usd": 0.10, "early_delete_usd": 0.0, "actual_usd": 2.796,
        "baseline_usd": 500 * 0.023, "saving_usd": 500 * 0.023 - 2.796, "unpriced_rows": 0})
    assert storage.by_class(engine, Filters(project=("pgx",))).num_rows == 0
    measured = {(r["storage_class"], r["project"]): (r["inventories"], r["gb_months"],
                                                     r["cost_usd"], r["standard_cost_usd"],
                                                     r["saving_usd"])
                for r in storage.measured(engine, Filters()).to_pylist()}
    assert rounded(measured) == {
        ("DEEP_ARCHIVE", "aou"): (2, 30.0, 30 * 0.00099, 30 * 0.023, 30 * (0.023 - 0.00099)),
        ("STANDARD", "pgx"): (2, 2.0, 2 * 0.023, 2 * 0.023, 0.0)}
    assert storage.measured(engine, Filters(project=("pgx",))).num_rows == 1
    assert storage.measured(engine, Filters(start=date(2026, 10, 1),
                                            end=date(2026, 10, 31))).num_rows == 0


def test_periods_are_filled_with_zeros_for_every_group_seen():
    rows = [{"period": "2026-11-02", "kind": "a", "n": 1}]
    labels = periods.periods(date(2026, 11, 1), date(2026, 11, 3), "day")
    assert labels == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert periods.fill(rows, "period", labels, ["kind"], ["n"]) == [
        {"period": "2026-11-01", "kind": "a", "n": 0}, rows[0],
        {"period": "2026-11-03", "kind": "a", "n": 0}]
    assert periods.periods(date(2026, 11, 30), date(2027, 1, 1), "month") == [
        "2026-11", "2026-12", "2027-01"]
    assert periods.span(Filters(end=date(2026, 11, 3)), ["2026-11-02"], "day") == [
        "2026-11-02", "2026-11-03"]
    with pytest.raises(ValueError, match="grain"):
        periods.check_grain("week")


def test_every_query_of_the_three_pages_goes_to_athena_as_trino_sql_meaning_the_same(engine):
    from analytics import failures

    rec = Recorder(engine)
    ranged = Filters(start=date(2026, 11, 3), end=date(2026, 11, 5), project=("aou", None),
                     release=("r1",))
    for f in (Filters(), ranged):
        for grain in ("day", "month"):
            failures.failures_by_kind(rec, f, grain)
            cost_trends.over_time(rec, f, grain, "requested_by")
        for fn in (failures.reclaims, failures.retry_outcomes, failures.retry_cost,
                   cost_trends.by_component, cost_trends.assumed_prices, cost_trends.per_sample,
                   cost_trends.savings, cost_trends.reconciliation, cost_trends.untagged,
                   cost_trends.untagged_by_service, storage.by_class, storage.archival):
            fn(rec, f)
        cost_trends.per_sample(rec, f, billed=False)
    assert len(rec.sent) == 34
    assert_same_on_trino(engine, rec.sent)
