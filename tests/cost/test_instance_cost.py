"""Instance lives and the compute rows they give (issue 12, item 4), as values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pipeline_runner.cost import (
    AttemptUsage,
    compute_row,
    estimate_attempt_cost,
    instance_compute_rows,
)
from pipeline_runner.instances import instance_lives, sole_tenants, still_open
from pipeline_runner.prices import PriceBook

T = datetime(2026, 6, 10, 8, tzinfo=UTC)
M = timedelta(minutes=1)
F2_OD = 1.98  # ec2_on_demand.csv, f2.6xlarge us-east-1


def _state(state, at, **kw):
    return {"instance_id": "i-1", "state": state, "state_at": at, **kw}


def _attempt(**kw):
    base = dict(job_id="j", attempt=1, tags={"project": "P"}, capacity="on-demand",
                instance_type="f2.6xlarge", started_at=T, stopped_at=T + 60 * M, vcpus=12,
                memory_mib=128 * 1024, licensed=False, instance_id="i-1")
    return AttemptUsage(**{**base, **kw})


def test_an_instance_is_billed_from_running_to_shutting_down_whatever_the_order():
    rows = [_state("pending", T - 5 * M), _state("running", T - 4 * M),
            _state("shutting-down", T + 70 * M), _state("terminated", T + 71 * M),
            _state("pending", T - 5 * M, instance_type="f2.6xlarge", capacity="on-demand",
                   availability_zone="us-east-1b", source="describe-instances")]
    for seed in range(5):
        random.Random(seed).shuffle(rows)
        (life,) = instance_lives(rows + rows[:2]).values()
        assert (life.launched_at, life.ended_at) == (T - 4 * M, T + 70 * M)
        assert (life.instance_type, life.capacity, life.availability_zone) == (
            "f2.6xlarge", "on-demand", "us-east-1b")
    # only the launch known (DescribeInstances): from LaunchTime, and not over yet
    (life,) = instance_lives([_state("pending", T - 5 * M)]).values()
    assert (life.launched_at, life.ended_at, life.known) == (T - 5 * M, None, False)


def test_still_open_is_launched_and_not_ended():
    ended = [_state("running", T), _state("terminated", T + M)]
    launched = [{**_state("pending", T - M), "instance_id": "i-2"},
                {**_state("running", T), "instance_id": "i-2"}]
    ending_only = [{**_state("shutting-down", T + M), "instance_id": "i-3"}]
    assert still_open(ended + launched + ending_only) == {"i-2": T}


def test_an_instance_with_two_attempts_was_shared():
    lives = instance_lives([_state("running", T), _state("shutting-down", T + M),
                            {**_state("running", T), "instance_id": "i-2"},
                            {**_state("shutting-down", T + M), "instance_id": "i-2"}])
    sole = sole_tenants([("a", 1, "i-1"), ("b", 1, "i-2"), ("c", 1, "i-2"), ("a", 1, "i-1"),
                         ("d", 1, None), ("e", 1, "i-9")], lives)
    assert sole == {("a", 1): lives["i-1"]}


def test_a_lone_job_pays_its_instance_from_launch_to_termination():
    book = PriceBook.load_default()
    a = _attempt()
    (life,) = instance_lives([_state("running", T - 4 * M),
                              _state("shutting-down", T + 70 * M)]).values()
    rows = {r["component"]: r for r in instance_compute_rows(a, book, life, sole=True)}
    assert set(rows) == {"compute", "compute:instance-boot", "compute:instance-idle"}
    assert sum(r["quantity"] for r in rows.values()) == pytest.approx(74 / 60)
    assert sum(r["cost_usd"] for r in rows.values()) == pytest.approx(74 / 60 * F2_OD)
    assert (rows["compute:instance-boot"]["usage_start_at"],
            rows["compute:instance-boot"]["usage_end_at"]) == (T - 4 * M, T)
    assert (rows["compute:instance-idle"]["usage_start_at"],
            rows["compute:instance-idle"]["usage_end_at"]) == (T + 60 * M, T + 70 * M)
    # today's rule charged the packing share of the container window: 0.45 of the bill here
    (old,) = estimate_attempt_cost(a, book)
    assert old["cost_usd"] / (74 / 60 * F2_OD) == pytest.approx(
        (9 * 12 + 128) / (9 * 24 + 256) * 60 / 74)
    assert old["price_source"].endswith("container window until i-1's termination is known")


def test_on_a_shared_instance_a_task_pays_its_share_of_its_own_seconds():
    book = PriceBook.load_default()
    a = _attempt(stopped_at=T + timedelta(seconds=30), vcpus=2, memory_mib=4096)
    (life,) = instance_lives([_state("running", T - 4 * M),
                              _state("shutting-down", T + 70 * M)]).values()
    rows = {r["component"]: r for r in instance_compute_rows(a, book, life, sole=False)}
    share = (9 * 2 + 4) / (9 * 24 + 256)
    assert rows["compute"]["cost_usd"] == pytest.approx(share * 30 / 3600 * F2_OD)
    assert rows["compute"]["price_source"].endswith("i-1 was shared with other jobs")
    assert rows["compute:instance-idle"]["cost_usd"] == 0
    assert "i-1 was shared: its idle time is unused capacity" in \
        rows["compute:instance-boot"]["price_source"]
    # without the instance's life the estimate keeps EC2's 60 s minimum
    assert compute_row(a, book)["cost_usd"] == pytest.approx(share * 60 / 3600 * F2_OD)
    assert compute_row(_attempt(instance_id=None), book)["price_source"].endswith(
        "container window (the instance is not known)")
