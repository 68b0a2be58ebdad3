import csv
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from pipeline_runner.cost import (
    AttemptUsage,
    AutomationVolume,
    QueryLoad,
    athena_billed_bytes,
    athena_monthly_cost,
    automation_monthly_cost,
    billable_seconds,
    estimate_attempt_cost,
    packing_share,
)
from pipeline_runner.prices import InstanceSpec, PriceBook

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # a Wednesday: no Spot price change for days
TAGS = {
    "project": "P1",
    "sample_id": "S1",
    "run_id": "R1",
    "workflow": "dragen-germline-wgs",
    "pipeline_release": "4.3.6",
    "requested_by": "ana",
    "cost_centre": "CC-7",
}


@pytest.fixture(scope="module")
def book():
    return PriceBook.load_default()


def _spot(itype, day):
    rows = csv.DictReader(
        (resources.files("pipeline_runner") / "prices" / "ec2_spot.csv").read_text().splitlines()
    )
    return next(
        float(r["usd_per_hour"])
        for r in rows
        if r["instance_type"] == itype and r["effective_from"] == day
    )


def attempt(**kw):
    base = dict(
        job_id="job-1",
        attempt=1,
        tags=TAGS,
        capacity="on-demand",
        instance_type="f1.2xlarge",
        started_at=T0,
        stopped_at=T0 + timedelta(hours=2),
        licensed=False,
    )
    base.update(kw)
    return AttemptUsage(**base)


def _by_component(rows):
    return {r["component"]: r for r in rows}


def test_on_demand_is_per_second_at_the_list_price(book):
    (row,) = estimate_attempt_cost(attempt(stopped_at=T0 + timedelta(seconds=5000)), book)
    assert row["cost_usd"] == pytest.approx(1.65 * 5000 / 3600)
    assert (row["quantity_unit"], row["price_status"], row["capacity"]) == (
        "instance-h",
        "list",
        "on-demand",
    )
    assert row["usage_end_at"] == T0 + timedelta(seconds=5000)
    assert {k: row[k] for k in TAGS} == TAGS and (row["job_id"], row["attempt"]) == ("job-1", 1)


def test_sixty_second_minimum_and_rounding_up_to_the_second(book):
    assert billable_seconds(T0, T0 + timedelta(seconds=12)) == 60
    assert billable_seconds(T0, T0 + timedelta(seconds=61, milliseconds=1)) == 62
    (short,) = estimate_attempt_cost(attempt(stopped_at=T0 + timedelta(seconds=12)), book)
    assert short["cost_usd"] == pytest.approx(1.65 * 60 / 3600)
    assert short["usage_end_at"] == T0 + timedelta(seconds=60)


def test_spot_uses_the_dated_spot_price_and_is_marked_approximate(book):
    (row,) = estimate_attempt_cost(attempt(capacity="spot"), book)
    price = _spot("f1.2xlarge", "2026-06-01")
    assert row["cost_usd"] == pytest.approx(2 * price)
    assert row["price_status"] == "approximate" and "ec2-spot" in row["price_source"]
    on_demand = estimate_attempt_cost(attempt(), book)[0]["cost_usd"]
    assert row["cost_usd"] < on_demand * 0.41


def test_spot_attempt_across_a_price_change_is_priced_piecewise(book):
    start = datetime(2026, 6, 7, 23, 30, tzinfo=UTC)
    (row,) = estimate_attempt_cost(
        attempt(capacity="spot", started_at=start, stopped_at=start + timedelta(hours=2)), book
    )
    expected = 0.5 * _spot("f1.2xlarge", "2026-06-01") + 1.5 * _spot("f1.2xlarge", "2026-06-08")
    assert row["cost_usd"] == pytest.approx(expected)
    assert "later" in row["price_source"]


def test_packing_share_is_the_split_cost_allocation_9_to_1_rule(book):
    c5 = book.instance("c5.9xlarge")  # 36 vCPU, 72 GiB
    assert packing_share(16, 32 * 1024, c5) == pytest.approx((9 * 16 + 32) / (9 * 36 + 72))
    # A memory-heavy job: not the larger of its two shares (Seqera's rule), 60/72.
    assert packing_share(4, 60 * 1024, c5) == pytest.approx((9 * 4 + 60) / (9 * 36 + 72))
    assert packing_share(4, 60 * 1024, c5) < max(4 / 36, 60 / 72) / 3
    assert packing_share(None, None, c5) == 1.0
    assert packing_share(64, 10**6, c5) == 1.0  # never more than the instance
    assert packing_share(4, 1024, None) is None
    a = attempt(instance_type="c5.9xlarge", vcpus=16, memory_mib=32 * 1024)
    (row,) = estimate_attempt_cost(a, book)
    assert row["cost_usd"] == pytest.approx(1.53 * 2 * (9 * 16 + 32) / (9 * 36 + 72))
    assert row["quantity"] * 3600 / 7200 == pytest.approx((9 * 16 + 32) / (9 * 36 + 72))


def test_two_packed_attempts_pay_their_shares_and_leave_the_rest_unused(book):
    jobs = [
        attempt(job_id=f"j{i}", instance_type="c5.9xlarge", vcpus=16, memory_mib=30 * 1024)
        for i in range(2)
    ]
    total = sum(estimate_attempt_cost(j, book)[0]["cost_usd"] for j in jobs)
    instance = 1.53 * 2
    assert total == pytest.approx(instance * 2 * (9 * 16 + 30) / (9 * 36 + 72))
    assert 0 < instance - total < instance * 0.2


def test_an_explicit_instance_size_overrides_the_table(book):
    a = attempt(
        instance_type="f1.2xlarge",
        vcpus=4,
        memory_mib=61 * 1024,
        instance_vcpus=8,
        instance_memory_mib=122 * 1024,
    )
    (row,) = estimate_attempt_cost(a, book)
    assert row["cost_usd"] == pytest.approx(1.65 * 2 * 0.5)


def test_interrupted_spot_attempt_costs_what_it_ran_and_the_retry_is_priced_on_demand(book):
    reclaimed = T0 + timedelta(minutes=47, seconds=13)
    first = estimate_attempt_cost(attempt(capacity="spot", stopped_at=reclaimed), book)[0]
    assert first["cost_usd"] == pytest.approx(_spot("f1.2xlarge", "2026-06-01") * 2833 / 3600)
    retry = estimate_attempt_cost(
        attempt(
            job_id="job-2",
            attempt=2,
            started_at=reclaimed + timedelta(minutes=5),
            stopped_at=reclaimed + timedelta(minutes=125),
        ),
        book,
    )[0]
    assert retry["cost_usd"] == pytest.approx(1.65 * 2)


def test_licence_and_scratch_components(book):
    rows = _by_component(
        estimate_attempt_cost(
            attempt(licensed=True, input_bases=120_000_000_000, scratch_gb=500), book
        )
    )
    assert set(rows) == {"compute", "licence", "scratch_storage"}
    assert rows["licence"]["quantity"] == 120.0 and rows["licence"]["cost_usd"] == pytest.approx(
        12.0
    )
    assert rows["licence"]["price_status"] == "assumed"  # the shipped rate is an assumption
    assert rows["scratch_storage"]["cost_usd"] == pytest.approx(500 * 0.08 * 2 / 730)
    contract = PriceBook.load_default(licence_usd_per_gbase=0.05)
    lic = _by_component(estimate_attempt_cost(attempt(licensed=True, input_bases=10**11), contract))
    assert (lic["licence"]["cost_usd"], lic["licence"]["price_status"]) == (
        pytest.approx(5.0),
        "list",
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(instance_type="x9.mega"), "no On-Demand price for x9.mega"),
        (dict(instance_type="x9.mega", capacity="spot"), "no Spot price for x9.mega"),
        (
            dict(
                started_at=datetime(2020, 1, 1, tzinfo=UTC),
                stopped_at=datetime(2020, 1, 1, 1, tzinfo=UTC),
            ),
            "no On-Demand price for f1.2xlarge in us-east-1 on 2020-01-01",
        ),
        (dict(stopped_at=None), "no stop time"),
        (dict(stopped_at=T0 - timedelta(seconds=1)), "before started_at"),
        (dict(instance_type=None), "no instance type"),
        (dict(instance_type="x9.mega", vcpus=4, memory_mib=4096), "no vCPU/memory size"),
        (dict(capacity="reserved"), "neither spot nor on-demand"),
    ],
)
def test_missing_prices_give_unpriced_rows_never_zero(book, change, reason):
    rows = estimate_attempt_cost(attempt(**change), book)
    compute = _by_component(rows)["compute"]
    assert compute["cost_usd"] is None and compute["price_status"] == "unpriced"
    assert reason in compute["price_source"]


def test_unknown_input_bases_leave_the_licence_unpriced(book):
    rows = _by_component(estimate_attempt_cost(attempt(licensed=True), book))
    assert rows["licence"]["cost_usd"] is None and rows["licence"]["price_status"] == "unpriced"
    assert rows["compute"]["cost_usd"] > 0


def test_an_attempt_that_never_started_costs_nothing_and_has_no_rows(book):
    assert (
        estimate_attempt_cost(attempt(started_at=None, stopped_at=None, licensed=True), book) == []
    )


def test_attempt_from_job_attempts_rows_takes_the_latest_values():
    rows = [
        {
            "job_id": "j",
            "attempt": 2,
            "status": "RUNNABLE",
            "status_at": T0,
            "capacity": "spot",
            "project": "P1",
            "run_id": "R1",
        },
        {
            "job_id": "j",
            "attempt": 2,
            "status": "FAILED",
            "status_at": T0 + timedelta(hours=1),
            "started_at": T0 + timedelta(minutes=5),
            "stopped_at": T0 + timedelta(hours=1),
            "instance_type": "f1.2xlarge",
            "instance_id": "i-1",
            "vcpus": 8,
            "memory_mib": 100_000,
        },
        {
            "job_id": "j",
            "attempt": 2,
            "status": "RUNNING",
            "status_at": T0 + timedelta(minutes=5),
            "started_at": T0 + timedelta(minutes=5),
            "instance_type": "f1.2xlarge",
        },
    ]
    a = AttemptUsage.from_attempt_rows(rows, input_bases=5)
    assert (a.job_id, a.attempt, a.capacity, a.instance_id, a.vcpus) == ("j", 2, "spot", "i-1", 8)
    assert a.stopped_at == T0 + timedelta(hours=1) and a.tags == {"project": "P1", "run_id": "R1"}
    assert a.input_bases == 5
    with pytest.raises(ValueError):
        AttemptUsage.from_attempt_rows([])


def test_athena_bills_ten_megabytes_at_least_rounded_up_to_the_megabyte(book):
    mb = 2**20
    assert athena_billed_bytes(0) == 10 * mb
    assert athena_billed_bytes(10 * mb + 1) == 11 * mb
    assert athena_billed_bytes(3 * 2**30) == 3 * 2**30
    (small, big) = athena_monthly_cost(
        [QueryLoad("tiny", 1234, 1000), QueryLoad("scan", 2**40, 2)], book, T0
    )
    assert small.cost_usd == pytest.approx(1000 * 10 * mb / 2**40 * 5)
    assert big.cost_usd == pytest.approx(10.0) and big.price_status == "list"


def test_automation_at_design_volume_costs_less_than_a_cup_of_coffee(book):
    lines = {x.item: x for x in automation_monthly_cost(AutomationVolume(), book, T0)}
    # 500,000 jobs x 6 state changes + 4,000 samples x 10 objects invoke Lambda.
    assert lines["lambda-requests"].quantity == pytest.approx(3.04)
    assert lines["lambda-requests"].cost_usd == pytest.approx(3.04 * 0.20)
    assert lines["lambda-duration"].quantity == pytest.approx(3_040_000 * 0.25 * 0.2)
    assert lines["eventbridge-aws-event"].cost_usd == 0  # AWS service events are free
    total = sum(x.cost_usd for x in lines.values())
    assert 1 < total < 5
    assert all(x.price_status == "approximate" for x in lines.values())
    free = sum(
        x.cost_usd for x in automation_monthly_cost(AutomationVolume(free_tier=True), book, T0)
    )
    assert free < total


def test_instance_spec_rule_matches_sql_recovery_of_the_share(book):
    # The reconciliation view recovers the share as quantity x 3600 / billable seconds.
    a = attempt(
        instance_type="c5.9xlarge",
        vcpus=8,
        memory_mib=16 * 1024,
        stopped_at=T0 + timedelta(seconds=30),
    )
    (row,) = estimate_attempt_cost(a, book)
    seconds = (row["usage_end_at"] - row["usage_start_at"]).total_seconds()
    assert row["quantity"] * 3600 / seconds == pytest.approx(
        packing_share(8, 16 * 1024, InstanceSpec("c", 36, 72))
    )
