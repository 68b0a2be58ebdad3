"""Cost rows as values in column order (a batch's costs gathered as columns) and price refs."""

from datetime import UTC, datetime, timedelta

import pytest

from lake.schemas import table
from pipeline_runner.cost import (
    COST_COLUMNS,
    AttemptUsage,
    as_row,
    attempt_cost_values,
    compute_row,
    estimate_attempt_cost,
)
from pipeline_runner.licence import LicenceTerms
from pipeline_runner.prices import Price, PriceBook, relabel

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
TAGS = {"project": "P1", "sample_id": "S1", "run_id": "R1", "cost_centre": "CC-7"}


@pytest.fixture(scope="module")
def book():
    return PriceBook.load_default()


def _attempt(**kw) -> AttemptUsage:
    base = dict(job_id="job-1", attempt=1, tags=TAGS, capacity="spot",
                instance_type="f1.2xlarge", started_at=T0, stopped_at=T0 + timedelta(hours=2),
                vcpus=8, memory_mib=60000, input_bases=120 * 10**9, scratch_gb=500.0,
                licence=LicenceTerms(), finished=True, instance_id="i-1")
    base.update(kw)
    return AttemptUsage(**base)


def test_cost_columns_are_the_costs_table_columns_in_order():
    bookkeeping = {"schema_version", "recorded_at"}
    assert tuple(c for c in table("costs").columns if c not in bookkeeping) == COST_COLUMNS


@pytest.mark.parametrize("change", [
    {},
    {"capacity": "on-demand", "finished": False},
    {"stopped_at": None},  # unpriced compute and scratch
    {"instance_type": None},
    {"capacity": "reserved"},
    {"input_bases": None},
    {"started_at": None},  # never started: no rows
    {"stopped_at": T0 + timedelta(seconds=5), "vcpus": None, "memory_mib": None},
])
def test_values_are_the_rows_of_the_per_attempt_estimate(book, change):
    a = _attempt(**change)
    rows = estimate_attempt_cost(a, book)
    values = attempt_cost_values(a, book)
    assert [as_row(v) for v in values] == rows
    assert all(len(v) == len(COST_COLUMNS) for v in values)
    assert len(rows) == (0 if a.started_at is None else 3)


def test_a_row_names_its_values_with_the_tags_first(book):
    row = compute_row(_attempt(), book)
    assert list(row)[:4] == ["project", "sample_id", "run_id", "workflow"]
    assert (row["project"], row["workflow"], row["job_id"], row["component"]) == (
        "P1", None, "job-1", "compute")
    assert row["price_source"] == ("ec2-spot:us-east-1:f1.2xlarge@2026-06-01; share 0.6732 "
                                   "(9:1 vCPU:GiB); container window until i-1's termination "
                                   "is known")
    assert row["price_status"] == "approximate"


def test_a_price_ref_is_made_once_and_again_for_a_changed_price():
    p = Price("ec2-spot", "us-east-1", "f1.2xlarge", "hour", 0.5,
              datetime(2026, 6, 1, tzinfo=UTC), "approximate", "derived", "us-east-1a")
    assert p.ref == "ec2-spot:us-east-1/us-east-1a:f1.2xlarge@2026-06-01"
    (zoneless,) = relabel([p], availability_zone="")
    assert zoneless.ref == "ec2-spot:us-east-1:f1.2xlarge@2026-06-01"
    assert zoneless == Price("ec2-spot", "us-east-1", "f1.2xlarge", "hour", 0.5,
                             datetime(2026, 6, 1, tzinfo=UTC), "approximate", "derived")
    assert "_ref" not in repr(p)
