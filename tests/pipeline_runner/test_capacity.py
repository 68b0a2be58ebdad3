"""Capacity escalates: a job Batch cancelled for lack of Spot capacity moves to On-Demand; one the
On-Demand queue could not place either ends in a recorded decision, not an endless wait."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from ingest.batch_events import job_state_changes
from lake.store import LakeStore
from pipeline_runner.executors.batch import BatchExecutor
from pipeline_runner.policy import AttemptOutcome, decide, failure_kind
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig
from tests.servers import make_moto_batch

# Batch's statusReason for a job its queue's RUNNABLE time limit cancelled (AWS Batch user guide,
# "Jobs stuck in RUNNABLE due to capacity").
CANCELLED = ("Canceled by JobStateTimeLimit action due to reason: "
             "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")
RECLAIM = "Host EC2 (instance i-0f4b1c2d3e4f56789) terminated."
CONFIG = RunnerConfig(max_spot_attempts=2, max_attempts=4, spend_cap_usd=60.0)


def attempt(n: int, reason: str | None = CANCELLED, capacity: str = "spot",
            code: int | None = None) -> AttemptOutcome:
    return AttemptOutcome(job_id=f"job-{n}", attempt=n, capacity=capacity, status="FAILED",
                          status_reason=reason, exit_code=code)


def test_a_spot_capacity_cancel_moves_to_on_demand_at_once():
    d = decide([attempt(1)], CONFIG)
    assert (d.action, d.failure_kind, d.next_capacity) == ("retry_on_demand", "capacity",
                                                           "on-demand")
    assert "no Spot capacity within the queue's RUNNABLE time limit" in d.reason


def test_after_a_reclaim_a_capacity_cancel_still_escalates():
    d = decide([attempt(1, RECLAIM, code=143), attempt(2)], CONFIG)
    assert (d.action, d.next_capacity) == ("retry_on_demand", "on-demand")


def test_an_on_demand_capacity_cancel_gives_up_with_the_fix_in_the_reason():
    d = decide([attempt(1), attempt(2, capacity="on-demand")], CONFIG)
    assert (d.action, d.failure_kind, d.next_capacity) == ("give_up", "capacity", None)
    assert "On-Demand F-instance vCPU quota" in d.reason and "DragenInstanceTypes" in d.reason


def test_the_attempt_limit_and_the_spend_cap_apply_as_to_a_reclaim():
    four = [attempt(1, RECLAIM, code=143), attempt(2, RECLAIM, code=143),
            attempt(3, "CannotPullContainerError", capacity="on-demand"), attempt(4)]
    assert decide(four, CONFIG).action == "give_up"
    assert decide([attempt(1)], CONFIG, spent_usd=60.0).action == "give_up"


def test_the_spend_is_priced_only_when_a_retry_would_follow():
    asked: list[int] = []

    def spent() -> float:
        asked.append(1)
        return 75.0

    succeeded = AttemptOutcome(job_id="job-1", attempt=1, capacity="spot", status="SUCCEEDED",
                               status_reason=None, exit_code=0)
    assert decide([succeeded], CONFIG, spent).action == "complete"
    assert decide([attempt(1, "Essential container in task exited", code=1)], CONFIG,
                  spent).action == "give_up"
    assert asked == []  # neither needed the spend: the run was not priced again
    d = decide([attempt(1)], CONFIG, spent)
    assert (d.action, asked) == ("give_up", [1])
    assert "estimated spend $75.00 reached the run's cap of $60.00" in d.reason
    assert decide([attempt(1)], CONFIG, lambda: 12.5).action == "retry_on_demand"


def test_a_capacity_reason_with_an_exit_code_is_not_a_capacity_failure():
    # the container ran and exited: whatever the text says, the application decided
    assert failure_kind(attempt(1, CANCELLED, code=1)) == "application_error"
    assert failure_kind(attempt(1, CANCELLED)) == "capacity"


def _event(reference, job: dict, status: str, reason: str, at: datetime) -> dict:
    """The documented Batch event, carrying this job's identity and the given outcome."""
    event = json.loads((reference / "aws-events"
                        / "batch-job-state-change_RUNNABLE_aws-docs.json").read_text())
    event = copy.deepcopy(event)
    event["id"] = f"{job['jobId']}-{status}"
    event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = event["detail"]
    detail.update(jobId=job["jobId"], jobArn=job["jobArn"], jobName=job["jobName"],
                  jobQueue=job["jobQueue"], tags=job["tags"], status=status,
                  statusReason=reason, attempts=[], stoppedAt=int(at.timestamp() * 1000))
    return event


@pytest.mark.integration
def test_capacity_cancels_escalate_to_on_demand_and_then_stop(reference, moto_endpoint,
                                                             lake_settings, make_run):
    batch = make_moto_batch(moto_endpoint, "cap" + os.urandom(2).hex())
    client = batch.client()
    config = RunnerConfig(spot_queue=batch.spot_queue, on_demand_queue=batch.on_demand_queue)
    store = LakeStore(lake_settings)
    t0 = datetime(2026, 5, 1, 8, tzinfo=UTC)

    def runner() -> Runner:  # a fresh one per event, as each recorder invocation is
        return Runner(store, BatchExecutor(client, batch.job_definition), config)

    first = runner().dispatch(make_run("NA12878-C01"), t0)
    (job1,) = client.describe_jobs(jobs=[first.job_id])["jobs"]
    assert job1["jobQueue"].endswith(f"/{batch.spot_queue}")

    at = t0 + timedelta(hours=2)  # the Spot queue's RUNNABLE time limit
    (change,) = job_state_changes(_event(reference, job1, "FAILED", CANCELLED, at), "e1").changes
    result = runner().on_job_state_changes([change])

    (submitted,) = result.submitted
    assert (submitted.attempt, submitted.capacity) == (2, "on-demand")
    (job2,) = client.describe_jobs(jobs=[submitted.job_id])["jobs"]
    assert job2["jobQueue"].endswith(f"/{batch.on_demand_queue}")
    assert job2["jobName"].endswith("-a2")

    at += timedelta(hours=4)  # the On-Demand queue's own limit
    (change,) = job_state_changes(_event(reference, job2, "FAILED", CANCELLED, at), "e2").changes
    result = runner().on_job_state_changes([change])

    assert result.submitted == []
    decisions = sorted(store.read("decisions").to_pylist(), key=lambda r: r["attempt"])
    assert [(d["attempt"], d["failure_kind"], d["action"], d["next_capacity"])
            for d in decisions] == [(1, "capacity", "retry_on_demand", "on-demand"),
                                    (2, "capacity", "give_up", None)]
    runs = {r["status"]: r for r in store.read("runs").to_pylist()}
    assert "FAILED" in runs and "On-Demand" in runs["FAILED"]["reason"]
    names = [j["jobName"] for q in (batch.spot_queue, batch.on_demand_queue)
             for s in ("SUBMITTED", "RUNNABLE", "SUCCEEDED", "FAILED")
             for j in client.list_jobs(jobQueue=q, jobStatus=s)["jobSummaryList"]]
    assert sorted(names) == sorted({job1["jobName"], job2["jobName"]})  # no third attempt
