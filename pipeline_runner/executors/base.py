"""What every executor offers, and the Batch event shape the self-reporting ones emit.

AWS Batch reports job state changes through EventBridge. The local and simulated executors
report theirs as the same "Batch Job State Change" event dicts, so one normalizer
(``ingest.batch_events``) reads all three and the runner cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pipeline_runner.records import JobSpec

DETAIL_TYPE = "Batch Job State Change"
SOURCE = "aws.batch"


@runtime_checkable
class Executor(Protocol):
    """Submits jobs. ``name`` is recorded in ``runs.executor`` (simulated | local | batch)."""

    name: str

    def submit(self, spec: JobSpec) -> str:
        """Submit one job; returns its job id. Refuses a spec with missing or bad tags."""
        ...


@runtime_checkable
class JobFinder(Protocol):
    """An executor that can find the jobs submitted under a name, and stop one.

    The runner asks it when an attempt is claimed but its job is not recorded: the claimer may
    have submitted and died before writing the job down (Batch: ListJobs by name; local and
    simulated: their own records of this process).
    """

    def find(self, spec: JobSpec) -> list[str]:
        """Ids of the jobs named ``spec.job_name``, oldest first."""
        ...

    def terminate(self, job_id: str, reason: str) -> None:
        """Stop a job (a duplicate of an attempt that already has one)."""
        ...


@runtime_checkable
class ClockedExecutor(Protocol):
    """An executor whose jobs start on the caller's clock (the simulator, in compressed time).

    The runner submits with the time it records the submission under (the attempt's claim
    keeps it), so a job planned again after a crash (``adopt`` from the recorded time) is the
    job the killed process had: same timeline, same instance life, same rows.
    """

    def submit_at(self, spec: JobSpec, at: datetime) -> str:
        """``submit``, the job created at ``at``."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """An executor that reports its own job state changes (local, simulated, Batch polling)."""

    def poll(self, now: datetime) -> list[dict[str, Any]]:
        """Batch-shaped EventBridge events that happened up to ``now``, in delivery order."""
        ...


def epoch_ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


def iso_z(ts: datetime) -> str:
    """EventBridge's ``time``: UTC, whole seconds, a Z suffix."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_arn(region: str, account: str, job_id: str) -> str:
    return f"arn:aws:batch:{region}:{account}:job/{job_id}"


def queue_arn(region: str, account: str, queue: str) -> str:
    return queue if queue.startswith("arn:") else \
        f"arn:aws:batch:{region}:{account}:job-queue/{queue}"


def batch_event(*, event_id: str, at: datetime, region: str, account: str, spec: JobSpec,
                job_id: str, status: str, created_at: datetime,
                job_definition: str, image: str,
                started_at: datetime | None = None, stopped_at: datetime | None = None,
                status_reason: str | None = None, exit_code: int | None = None,
                container_reason: str | None = None, instance_type: str | None = None,
                container_instance_arn: str | None = None, task_arn: str | None = None,
                log_stream: str | None = None) -> dict[str, Any]:
    """One "Batch Job State Change" event, in the shape of the real payloads.

    Field names and nesting follow the reference events (aws-docs RUNNABLE, umccr SUCCEEDED):
    ``detail`` is a DescribeJobs job; a finished job has one ``attempts`` entry whose
    ``container`` carries the exit code (absent when the container never reported one) and
    the infrastructure ``reason``. The instance type is in ``container.instanceType`` (a
    ContainerDetail field); the EC2 instance id appears only where Batch puts it, in the
    statusReason of a reclaimed job.
    """
    arn = job_arn(region, account, job_id)
    container: dict[str, Any] = {
        "image": image,
        "command": list(spec.command),
        "volumes": [],
        "environment": env_list(spec.environment),
        "mountPoints": [],
        "ulimits": [],
        "resourceRequirements": [{"value": str(spec.vcpus), "type": "VCPU"},
                                 {"value": str(spec.memory_mib), "type": "MEMORY"}],
        "secrets": [],
    }
    if instance_type:
        container["instanceType"] = instance_type
    if container_instance_arn:
        container["containerInstanceArn"] = container_instance_arn
    if task_arn:
        container["taskArn"] = task_arn
    if log_stream:
        container["logStreamName"] = log_stream
    attempts: list[dict[str, Any]] = []
    if status in ("SUCCEEDED", "FAILED") and (container_instance_arn or started_at):
        attempt_container: dict[str, Any] = {"containerInstanceArn": container_instance_arn,
                                             "taskArn": task_arn}
        if exit_code is not None:
            attempt_container["exitCode"] = exit_code
            container["exitCode"] = exit_code
        if container_reason:
            attempt_container["reason"] = container_reason
            container["reason"] = container_reason
        attempt_container.update(logStreamName=log_stream, networkInterfaces=[])
        attempt: dict[str, Any] = {"container": attempt_container}
        if started_at:
            attempt["startedAt"] = epoch_ms(started_at)
        attempt["stoppedAt"] = epoch_ms(stopped_at or at)
        attempt["statusReason"] = status_reason
        attempts.append(attempt)
    detail: dict[str, Any] = {
        "jobArn": arn,
        "jobName": spec.job_name,
        "jobId": job_id,
        "jobQueue": queue_arn(region, account, spec.job_queue),
        "status": status,
        "attempts": attempts,
    }
    if status_reason:
        detail["statusReason"] = status_reason
    detail["createdAt"] = epoch_ms(created_at)
    detail["retryStrategy"] = {"attempts": 1, "evaluateOnExit": []}
    if started_at:
        detail["startedAt"] = epoch_ms(started_at)
    if stopped_at:
        detail["stoppedAt"] = epoch_ms(stopped_at)
    detail.update(
        dependsOn=[],
        jobDefinition=job_definition,
        parameters={},
        container=container,
        tags={**spec.tags, "resourceArn": arn},
        propagateTags=True,
        platformCapabilities=["EC2"],
    )
    if spec.timeout_s:
        detail["timeout"] = {"attemptDurationSeconds": spec.timeout_s}
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": iso_z(at),
        "region": region,
        "resources": [arn],
        "detail": detail,
    }


def env_list(environment: Mapping[str, str]) -> list[dict[str, str]]:
    """Batch's name/value list form of an environment, sorted by name."""
    return [{"name": k, "value": v} for k, v in sorted(environment.items())]
