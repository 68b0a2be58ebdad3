"""A local executor for an on-premises DRAGEN server: each job is a subprocess.

Jobs run one at a time by default (a DRAGEN server has one FPGA card), the rest wait RUNNABLE.
The executor reports what happens as the same Batch-shaped events as AWS and the simulator:
SUBMITTED, RUNNABLE (when it has to wait), RUNNING, then SUCCEEDED or FAILED with the
process's real exit code (a process killed by signal N reports 128 + N, as a container does).

The command is the spec's DRAGEN command unless a template overrides it, which is how tests
run a harmless program instead of DRAGEN. Commands run without a shell.

A job outlives the process that started it: it runs in a session of its own, inside a wrapper
(``local_job``) that writes its exit status to a file, and the executor keeps a record of it
(job id, name, process id, times) beside that file, next to the job's work folder
(``.attempt-1-jobs/``) or in ``state_dir``. A later process (the same command run again after
a kill) ``adopt``s it from there: still running, it is watched again; ended, its real exit code
is reported; gone without an exit status, or never started, it is reported FAILED with the
reason, and the runner's retry policy applies as to any failed attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lake.errors import SubmitError
from pipeline_runner.executors.base import batch_event
from pipeline_runner.executors.local_job import NOT_FOUND_EXIT
from pipeline_runner.records import JobSpec
from pipeline_runner.tags import validate_tags

CommandTemplate = Callable[[JobSpec], Sequence[str]] | Sequence[str]
LOST = ("the job's process {pid} ended without recording an exit status (killed with the "
        "dispatch that watched it, or the server restarted); its outputs cannot be trusted")
NEVER_STARTED = ("no record of job {job_id} in {folder}: the dispatch that submitted it died "
                 "before starting it")


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
    pid: int | None = None  # a job adopted from an earlier process: not our child


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
                 image: str = "local/dragen", inherit_env: bool = True,
                 state_dir: str | Path | None = None) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        self.command = command
        self.max_concurrent = max_concurrent
        self.log_dir = Path(log_dir) if log_dir else None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.instance_type, self.host = instance_type, host
        self.region, self.account, self.image = region, account, image
        self.inherit_env = inherit_env
        # where job records and exit files go; by default each job's own work folder
        self.state_dir = Path(state_dir) if state_dir else None
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
        self._record(job)
        self._emit(job, "SUBMITTED", job.created_at)
        self._waiting.append(job.job_id)
        self._start_waiting(job.created_at)
        return job.job_id

    def find(self, spec: JobSpec) -> list[str]:
        """Ids of the jobs started under ``spec.job_name``, in order: this process's, and the
        ones an earlier process recorded (it may have died before the runner wrote them down)."""
        mine = [j for j, job in self._jobs.items() if job.spec.job_name == spec.job_name]
        folder = self._folder(spec)
        recorded = sorted((r for r in (_read_json(p) for p in folder.glob("*.job.json"))
                           if r and r.get("job_name") == spec.job_name),
                          key=lambda r: r.get("created_at", "")) if folder.is_dir() else []
        return [*mine, *(r["job_id"] for r in recorded if r["job_id"] not in mine)]

    def adopt(self, spec: JobSpec, job_id: str, created_at: datetime | None,
              instances: Collection[str] | None = None) -> bool:
        """Take back a job an earlier process submitted, from its record: watched again if its
        process still runs, finished with its recorded exit status if it ended, FAILED if it
        ended without one or never started, queued again if it was waiting. Its events come
        again (the ones already recorded change nothing). False when this executor has it, or
        when asked for the jobs of EC2 ``instances`` (a local job runs on none)."""
        if job_id in self._jobs or instances is not None:
            return False
        folder = self._folder(spec)
        record = _read_json(folder / f"{job_id}.job.json")
        now = self.clock()
        if record is None:
            job = _LocalJob(spec, job_id, created_at or now, render_command(self.command, spec))
            self._jobs[job_id] = job
            job.status = "FAILED"
            self._emit(job, "FAILED", now,
                       status_reason=NEVER_STARTED.format(job_id=job_id, folder=folder))
            return True
        job = _LocalJob(spec, job_id, datetime.fromisoformat(record["created_at"]),
                        list(record["command"]))
        self._jobs[job_id] = job
        self._emit(job, "SUBMITTED", job.created_at)
        if record.get("started_at") is None:  # it was waiting its turn
            self._waiting.append(job_id)
            self._start_waiting(now)
            return True
        job.started_at = datetime.fromisoformat(record["started_at"])
        job.status, job.pid = "RUNNING", record.get("pid") or _find_pid(job_id)
        self._emit(job, "RUNNING", job.started_at)
        self._check_adopted(job, now)
        return True

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
        elif job.process is None and _running(job.pid, job_id):  # adopted: not our child
            os.kill(job.pid, signal.SIGTERM)
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
                    ended = _read_json(self._exit_file(job))  # the wrapper's, if it wrote one
                    self._finish(job, code, now, reason=(ended or {}).get("reason"))
            elif job.status == "RUNNING":
                self._check_adopted(job, now)
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

    # the clock ``seqledger ingest event`` follows jobs by (as the simulator's)
    def next_event_at(self) -> datetime | None:
        """Now while a job is running or waiting; None when every job has finished."""
        return self.clock() if self.active or self._outbox else None

    def advance(self, until: datetime, interval_s: float = 0.05) -> list[dict[str, Any]]:
        """Wait for the next events (at most until ``until``); the events seen."""
        events = self.poll()
        while not events and self.active and self.clock() < until:
            time.sleep(interval_s)
            events = self.poll()
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

    def _folder(self, spec: JobSpec) -> Path:
        """Where the records of ``spec``'s jobs are: ``state_dir``, else beside the work
        folder (``.attempt-1-jobs/``: inside it, the DRAGEN ingest would take it for a run)."""
        work = _work_folder(spec)
        if self.state_dir is not None or work is None:
            return (self.state_dir or Path(".seqledger", "local-jobs")) / spec.job_name
        return work.parent / f".{work.name}-jobs"

    def _exit_file(self, job: _LocalJob) -> Path:
        return self._folder(job.spec) / f"{job.job_id}.exit.json"

    def _record(self, job: _LocalJob, pid: int | None = None) -> None:
        """The job's record, for a later process to adopt it from: written at submission
        (waiting: started again), when it starts (before its process, so a crash in between is
        found by its command line) and with its process id."""
        folder = self._folder(job.spec)
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"job_id": job.job_id, "job_name": job.spec.job_name,
               "attempt": job.spec.attempt, "command": job.command, "pid": pid,
               "created_at": job.created_at.isoformat(),
               "started_at": job.started_at.isoformat() if job.started_at else None}
        tmp = folder / f".{job.job_id}.{os.getpid()}.partial"
        tmp.write_text(json.dumps(doc))
        tmp.replace(folder / f"{job.job_id}.job.json")

    def _start(self, job: _LocalJob, now: datetime) -> None:
        cwd = _work_folder(job.spec)
        if cwd is not None:
            cwd.mkdir(parents=True, exist_ok=True)
        env = {**(os.environ if self.inherit_env else {}), **job.spec.environment}
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            job.log = open(self.log_dir / f"{job.spec.job_name}-{job.job_id[:8]}.log", "wb")  # noqa: SIM115
        job.started_at = now
        self._record(job)
        program = job.command[0]
        try:
            if shutil.which(program, path=env.get("PATH")) is None \
                    and not (os.sep in program and os.access(program, os.X_OK)):
                raise FileNotFoundError(f"No such file or directory: {program!r}")
            # its own session: the job outlives this process (kill -9, ^C) and is adopted later
            job.process = subprocess.Popen(  # noqa: S603 - argv list, no shell
                [sys.executable, "-m", "pipeline_runner.executors.local_job",
                 str(self._exit_file(job)), "--", *job.command],
                cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                stdout=job.log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
        except OSError as e:
            job.started_at = now
            self._emit(job, "RUNNING", now)
            job.status = "RUNNING"
            self._finish(job, NOT_FOUND_EXIT, now, reason=f"could not start {program}: {e}")
            return
        job.started_at = now
        job.status = "RUNNING"
        self._record(job, job.process.pid)
        self._emit(job, "RUNNING", now)

    def _check_adopted(self, job: _LocalJob, now: datetime) -> None:
        """An adopted job's end: its exit file, or its process gone without one."""
        ended = _read_json(self._exit_file(job))
        if ended is not None:
            at = datetime.fromisoformat(ended["stopped_at"])
            code = ended.get("exit_code")
            if code is None:
                self._lost(job, at, ended.get("reason") or LOST.format(pid=job.pid))
            else:
                self._finish(job, int(code), at, reason=ended.get("reason"))
        elif not _running(job.pid, job.job_id):
            self._lost(job, now, LOST.format(pid=job.pid))

    def _lost(self, job: _LocalJob, at: datetime, reason: str) -> None:
        job.status = "FAILED"
        self._emit(job, "FAILED", at, status_reason=reason)

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


def _work_folder(spec: JobSpec) -> Path | None:
    """The job's local work folder (its ``SEQLEDGER_OUTPUT``), if it is a local one."""
    out = spec.environment.get("SEQLEDGER_OUTPUT", "")
    if out and ("://" not in out or out.startswith("file://")):
        return Path(out.removeprefix("file://"))
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # absent (or, never: a record is replaced whole)
        return None


def _running(pid: int | None, job_id: str) -> bool:
    """Whether the wrapper of ``job_id`` still runs: ``pid`` is alive and is that wrapper (its
    command line names the job's exit file), not a process that reused the number."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no such process (or no /proc: then ask the kernel whether it exists)
        if Path("/proc/self").exists():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return job_id.encode() in cmdline  # a zombie has an empty command line: ended


def _find_pid(job_id: str) -> int | None:
    """The process id of ``job_id``'s wrapper, from the command lines of /proc (a crash
    between its start and its record left it unrecorded)."""
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if job_id.encode() in path.read_bytes() and b"local_job" in path.read_bytes():
                return int(path.parent.name)
        except OSError:
            continue
    return None
