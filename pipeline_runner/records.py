"""The runner's values: what a job is asked to do, and what Batch says happened to it.

These are the contract between the executors (AWS Batch, local, simulated), the Batch event
normalizer in ``ingest`` and the attempt state machine. Plain frozen dataclasses, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lake.schemas import TAG_COLUMNS

# Cost-allocation tags: required on every job, in this order (the lake's tag columns).
REQUIRED_TAGS = TAG_COLUMNS

# AWS Batch job states, in the order a job moves through them.
JOB_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED"})


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One DRAGEN job to submit: command, resources, where, and the tags that price it."""

    job_name: str
    workflow: str
    command: tuple[str, ...]
    vcpus: int
    memory_mib: int
    job_queue: str
    capacity: str  # "spot" | "on-demand"
    tags: dict[str, str]
    attempt: int = 1  # the run's attempt number this job is (a resubmission is a new job)
    instance_types: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    timeout_s: int | None = None


@dataclass(frozen=True, slots=True)
class JobStateChange:
    """One "Batch Job State Change", normalized from any of the shapes Batch events come in."""

    job_id: str
    job_name: str
    status: str  # one of JOB_STATES
    status_at: datetime  # UTC; from the event time or the job's own timestamps
    job_queue: str | None = None
    status_reason: str | None = None
    exit_code: int | None = None
    attempt_count: int = 0  # len(attempts) Batch reports (Batch-internal retries)
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    instance_id: str | None = None
    instance_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    event_id: str | None = None
    vcpus: int | None = None
    memory_mib: int | None = None
    # the ECS container instance the job ran on (``container.containerInstanceArn``): resolved
    # to ``instance_id`` through ECS DescribeContainerInstances (ingest.ecs_describe)
    container_instance_arn: str | None = None
