"""A local executor for an on-premises DRAGEN server: each job is a subprocess.

Jobs run one at a time by default (a DRAGEN server has one FPGA card), the rest wait RUNNABLE.
The executor reports what happens as the same Batch-shaped events as AWS and the simulator:
SUBMITTED, RUNNABLE (when it has to wait), RUNNING, then SUCCEEDED or FAILED with the
process's real exit code (a process killed by signal N reports 128 + N, as a container does).

The command is the spec's DRAGEN command unless a template overrides it, which is how tests
run a harmless program instead of DRAGEN. Commands run without a shell.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lake.errors import SubmitError
from pipeline_runner.executors.base import batch_event
from pipeline_runner.records import JobSpec
from pipeline_runner.tags import validate_tags

CommandTemplate = Callable[[JobSpec], Sequence[str]] | Sequence[str]
NOT_FOUND_EXIT = 127  # what a shell reports for a command it cannot run


@dataclass
class _LocalJob:
    spec: JobSpec
    job_id: str
    created_at: datetime
    command: list[str]
    status: str = "SUBMITTED"
    process: subprocess.Popen | None = None
    log: IO[bytes] | None = None
    started_at: datetime | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def _fields(spec: JobSpec) -> dict[str, str]:
    return {
        "output": spec.environment.get("SEQLEDGER_OUTPUT", ""),
        "job_name": spec.job_name,
        "workflow": spec.workflow,
        "attempt": str(spec.attempt),
        **{k: v for k, v in spec.tags.items()},
    }


def render_command(template: CommandTemplate | None, spec: JobSpec) -> list[str]:
    """The argv to run: the spec's own command, a callable's result, or a template whose items
    are formatted with the spec's fields ({output}, {job_name}, {sample_id}, {run_id}, …)."""
    if template is None:
        return list(spec.command)
    if callable(template):
        return [str(a) for a in template(spec)]
    try:
        return [str(a).format_map(_fields(spec)) for a in template]
    except KeyError as e:
        raise SubmitError(f"job {spec.job_name}: command template names unknown field {e}") \
            from None


class LocalExecutor:
    """Runs jobs as local subprocesses and reports them as Batch job-state events."""

    name = "local"

    def __init__(self, command: CommandTemplate | None = None, *, max_concurrent: int = 1,
                 log_dir: str | Path | None = None, clock: Callable[[], datetime] | None = None,
                 instance_type: str = "dragen-server", host: str = "dragen-01",
                 region: str = "local", account: str = "000000000000",
                 image: str = "local/dragen", inherit_env: bool = True) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        self.command = command
        self.max_concurrent = max_concurrent
        self.log_dir = Path(log_dir) if log_dir else None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.instance_type, self.host = instance_type, host
        self.region, self.account, self.image = region, account, image
        self.inherit_env = inherit_env
        self._jobs: dict[str, _LocalJob] = {}
        self._waiting: list[str] = []
        self._outbox: list[dict[str, Any]] = []

    # -- submission ----------------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> str:
        validate_tags(spec.tags, spec.job_name)
        command = render_command(self.command, spec)
        if not command:
            raise SubmitError(f"job {spec.job_name}: empty command")
        job = _LocalJob(spec, str(uuid.uuid4()), self.clock(), command)
        self._jobs[job.job_id] = job
        self._emit(job, "SUBMITTED", job.created_at)
        self._waiting.append(job.job_id)
        self._start_waiting(job.created_at)
        return job.job_id

    def find(self, spec: JobSpec) -> list[str]:
        """Ids of the jobs this executor started under ``spec.job_name``, in order."""
        return [j for j, job in self._jobs.items() if job.spec.job_name == spec.job_name]

    def terminate(self, job_id: str, reason: str) -> None:
        """Stop a job (a duplicate); it reports FAILED with ``reason``."""
        job = self._jobs.get(job_id)
        if job is None or job.status in ("SUCCEEDED", "FAILED"):
            return
        if job_id in self._waiting:
            self._waiting.remove(job_id)
        if job.process is not None and job.process.poll() is None:
            job.process.terminate()
            job.process.wait()
        job.status = "FAILED"
        self._emit(job, "FAILED", self.clock(), status_reason=f"Terminated: {reason}")

    # -- events --------------------------------------------------------------------------------
    def poll(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Check the processes; the events since the last poll, in order."""
        now = (now or self.clock()).astimezone(UTC)
        for job in self._jobs.values():
            if job.status == "RUNNING" and job.process is not None:
                code = job.process.poll()
                if code is not None:
                    self._finish(job, code, now)
        self._start_waiting(now)
        out, self._outbox = self._outbox, []
        return out

    def wait(self, timeout_s: float = 60.0, interval_s: float = 0.05) -> list[dict[str, Any]]:
        """Poll until every job has finished (or the timeout passes); all events seen."""
        import time

        deadline = time.monotonic() + timeout_s
        events = self.poll()
        while self.active and time.monotonic() < deadline:
            time.sleep(interval_s)
            events += self.poll()
        return events

    @property
    def active(self) -> int:
        """Jobs not finished yet (running or waiting)."""
        return sum(1 for j in self._jobs.values() if j.status not in ("SUCCEEDED", "FAILED"))

    def close(self) -> None:
        """Stop the processes this executor started and are still running."""
        for job in self._jobs.values():
            if job.process is not None and job.process.poll() is None:
                job.process.terminate()
                try:
                    job.process.wait(5)
                except subprocess.TimeoutExpired:
                    job.process.kill()
                    job.process.wait()
            if job.log:
                job.log.close()

    # -- internals -----------------------------------------------------------------------------
    def _start_waiting(self, now: datetime) -> None:
        running = sum(1 for j in self._jobs.values() if j.status == "RUNNING")
        while self._waiting and running < self.max_concurrent:
            job = self._jobs[self._waiting.pop(0)]
            self._start(job, now)
            running += job.status == "RUNNING"
        for job_id in self._waiting:
            job = self._jobs[job_id]
            if job.status == "SUBMITTED":
                job.status = "RUNNABLE"
                self._emit(job, "RUNNABLE", now)

    def _start(self, job: _LocalJob, now: datetime) -> None:
        out = job.spec.environment.get("SEQLEDGER_OUTPUT", "")
        cwd = None
        if out and ("://" not in out or out.startswith("file://")):
            cwd = Path(out.removeprefix("file://"))
            cwd.mkdir(parents=True, exist_ok=True)
        env = {**(os.environ if self.inherit_env else {}), **job.spec.environment}
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            job.log = open(self.log_dir / f"{job.spec.job_name}-{job.job_id[:8]}.log", "wb")  # noqa: SIM115
        try:
            job.process = subprocess.Popen(  # noqa: S603 - argv list, no shell
                job.command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=job.log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
        except OSError as e:
            job.started_at = now
            self._emit(job, "RUNNING", now)
            job.status = "RUNNING"
            self._finish(job, NOT_FOUND_EXIT, now, reason=f"could not start {job.command[0]}: {e}")
            return
        job.started_at = now
        job.status = "RUNNING"
        self._emit(job, "RUNNING", now)

    def _finish(self, job: _LocalJob, code: int, now: datetime, reason: str | None = None) -> None:
        exit_code = 128 - code if code < 0 else code
        job.status = "SUCCEEDED" if exit_code == 0 else "FAILED"
        if job.log:
            job.log.close()
            job.log = None
        self._emit(job, job.status, now, exit_code=exit_code,
                   status_reason="Essential container in task exited", container_reason=reason)

    def _emit(self, job: _LocalJob, status: str, at: datetime, **extra: Any) -> None:
        started = job.started_at if status in ("RUNNING", "SUCCEEDED", "FAILED") else None
        ran = status != "SUBMITTED" and status != "RUNNABLE"
        event = batch_event(
            event_id=str(uuid.uuid4()), at=at, region=self.region, account=self.account,
            spec=job.spec, job_id=job.job_id, status=status, created_at=job.created_at,
            job_definition=f"local:{job.spec.workflow}", image=self.image,
            started_at=started, stopped_at=at if status in ("SUCCEEDED", "FAILED") else None,
            instance_type=self.instance_type if ran else None,
            container_instance_arn=f"local:{self.host}" if ran else None,
            task_arn=f"local:{self.host}/{job.job_id}" if ran else None, **extra)
        # keep the argv actually run, not the DRAGEN command it stands in for
        event["detail"]["container"]["command"] = list(job.command)
        self._outbox.append(event)
        job.events.append(event)
