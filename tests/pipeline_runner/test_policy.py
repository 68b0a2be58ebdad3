"""The retry policy, as a table of attempt histories and the decision each must get."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lake.schemas import table
from pipeline_runner.policy import AttemptOutcome, decide, failure_kind
from pipeline_runner.workflows import RunnerConfig

RECLAIM = "Host EC2 (instance i-0f4b1c2d3e4f56789) terminated."
EXITED = "Essential container in task exited"
CONFIG = RunnerConfig(max_spot_attempts=2, max_attempts=4, spend_cap_usd=60.0)


def attempt(n: int, status: str = "FAILED", reason: str | None = RECLAIM, code: int | None = 143,
            capacity: str = "spot") -> AttemptOutcome:
    return AttemptOutcome(job_id=f"job-{n}", attempt=n, capacity=capacity, status=status,
                          status_reason=reason, exit_code=code)


@pytest.mark.parametrize(("history", "action", "kind", "capacity"), [
    ([attempt(1, "SUCCEEDED", EXITED, 0)], "complete", "none", None),
    ([attempt(1)], "retry", "spot_reclaim", "spot"),
    ([attempt(1, code=None)], "retry", "spot_reclaim", "spot"),  # reclaim before the exit code
    ([attempt(1), attempt(2)], "retry_on_demand", "spot_reclaim", "on-demand"),
    ([attempt(1), attempt(2, reason="CannotPullContainerError: 429", code=None),
      attempt(3, code=None)], "retry_on_demand", "spot_reclaim", "on-demand"),
    ([attempt(1, reason=EXITED, code=1)], "give_up", "application_error", None),
    ([attempt(1, reason=EXITED, code=137)], "give_up", "application_error", None),
    ([attempt(1, reason="SIGTERM from someone", code=143)], "give_up", "application_error", None),
    ([attempt(1), attempt(2, reason=EXITED, code=2)], "give_up", "application_error", None),
    ([attempt(1, reason="CannotInspectContainerError: Could not transition to inspecting",
              code=None)], "retry", "infrastructure", "spot"),
    ([attempt(1, reason=EXITED, code=None)], "retry", "infrastructure", "spot"),
    ([attempt(1, reason="ResourceInitializationError: unable to pull secrets", code=None,
              capacity="on-demand")], "retry", "infrastructure", "on-demand"),
    # On On-Demand a lost host is an infrastructure error, not a Spot reclaim
    ([attempt(1), attempt(2), attempt(3, capacity="on-demand")], "retry", "infrastructure",
     "on-demand"),
    ([attempt(1, reason="Job attempt duration exceeded timeout", code=None)], "give_up",
     "timeout", None),
    ([attempt(1), attempt(2), attempt(3, capacity="on-demand"),
      attempt(4, reason="CannotPullContainerError: x", code=None, capacity="on-demand")],
     "give_up", "infrastructure", None),
])
def test_decision_table(history, action, kind, capacity):
    d = decide(history, CONFIG)
    assert (d.action, d.failure_kind, d.next_capacity) == (action, kind, capacity)
    assert d.job_id == history[-1].job_id and d.attempt == history[-1].attempt
    assert d.reason.startswith(f"attempt {history[-1].attempt}")


def test_reasons_read_well():
    assert decide([attempt(1)], CONFIG).reason == (
        f"attempt 1 (spot) failed: {RECLAIM} (exit code 143): Spot reclaim 1 of 2 tolerated; "
        "retrying on Spot")
    assert "moving to On-Demand" in decide([attempt(1), attempt(2)], CONFIG).reason
    assert "deterministic" in decide([attempt(1, reason=EXITED, code=1)], CONFIG).reason
    assert "4 of 4 attempts" in decide([attempt(n, reason=EXITED, code=None) for n in (1, 2, 3, 4)],
                                       CONFIG).reason


def test_spend_cap_stops_retries_but_not_success():
    d = decide([attempt(1)], CONFIG, spent_usd=60.0)
    assert (d.action, d.failure_kind) == ("give_up", "spot_reclaim")
    assert "$60.00" in d.reason and "cap" in d.reason
    assert decide([attempt(1)], CONFIG, spent_usd=59.99).action == "retry"
    assert decide([attempt(1, "SUCCEEDED", EXITED, 0)], CONFIG, spent_usd=500).action == "complete"
    assert decide([attempt(1)], RunnerConfig(spend_cap_usd=None), spent_usd=1e6).action == "retry"


def test_max_spot_attempts_is_configurable():
    assert decide([attempt(1)], RunnerConfig(max_spot_attempts=1)).action == "retry_on_demand"
    assert decide([attempt(1), attempt(2), attempt(3)],
                  RunnerConfig(max_spot_attempts=5, max_attempts=10)).action == "retry"


def test_failure_kind_reads_only_what_batch_gives():
    assert failure_kind(attempt(1, reason=None, code=None)) == "infrastructure"
    assert failure_kind(attempt(1, reason="Host EC2 (instance i-1) terminated.", code=1)) == \
        "application_error"


def test_decision_row_fits_the_decisions_table():
    tags = {"project": "p", "sample_id": "s", "run_id": "r", "workflow": "w",
            "pipeline_release": "v", "requested_by": "u", "cost_centre": "c"}
    at = datetime(2026, 1, 5, tzinfo=UTC)
    row = decide([attempt(1), attempt(2)], CONFIG).row(tags, at)
    assert set(row) <= set(table("decisions").columns)
    assert row["action"] == "retry_on_demand" and row["next_capacity"] == "on-demand"
    assert row["job_id"] == "job-2" and row["attempt"] == 2 and row["decided_at"] == at
    assert row["run_id"] == "r"


def test_decide_needs_an_attempt():
    with pytest.raises(ValueError):
        decide([], CONFIG)


@pytest.mark.parametrize(("reason", "code", "capacity", "kind"), [
    (f"{EXITED}; {RECLAIM}", 143, "spot", "spot_reclaim"),  # the attempt's reason names the host
    (f"{EXITED}; {RECLAIM}", None, "spot", "spot_reclaim"),  # no exit code: still a reclaim
    (RECLAIM.lower(), 143, "spot", "spot_reclaim"),
    (RECLAIM, 137, "spot", "spot_reclaim"),  # SIGKILL after the ECS stop timeout
    (RECLAIM, 137, "on-demand", "infrastructure"),  # an On-Demand host lost
    (EXITED, 137, "spot", "application_error"),  # an OOM kill or the job's own doing
    (f"{EXITED}; {RECLAIM}", 1, "spot", "application_error"),  # it failed before the host went
])
def test_reclaims_are_read_from_every_reason_and_exit_code(reason, code, capacity, kind):
    assert failure_kind(attempt(1, reason=reason, code=code, capacity=capacity)) == kind


def test_reclaims_with_no_exit_code_move_to_on_demand_after_n():
    history = [attempt(n, reason=f"{EXITED}; {RECLAIM}", code=None) for n in (1, 2)]
    decision = decide(history, CONFIG)
    assert (decision.action, decision.next_capacity) == ("retry_on_demand", "on-demand")
