"""A simulated AWS Batch on Spot, in compressed time: for demos, load tests and what-ifs.

Each submitted job gets a fate drawn from a random generator seeded by (seed, job name), so a
run of the simulator is reproducible whatever order jobs are submitted in:

- RUNNABLE a few seconds after submission, then a queue wait while an instance is found
  (Spot: ~5 min median, sometimes an hour when capacity is short; On-Demand: ~4 min);
- STARTING on an F1 or F2 instance (one of the spec's instance types), RUNNING after the
  image pull (1-4 min);
- RUNNING for staging (inputs in, reference loaded, outputs out) plus DRAGEN's own runtime,
  about 2 h for a 30x genome on F1, scaled by input size, a quarter less on F2;
- then SUCCEEDED (exit 0), or FAILED because
  - Spot reclaimed the host: ``Host EC2 (instance i-…) terminated.``, exit code 143 or none;
  - the application failed (exit 1, "Essential container in task exited"); decided per run,
    so a bad input fails every attempt, as real deterministic errors do;
  - an infrastructure error with no exit code (CannotPullContainerError,
    ResourceInitializationError at start; CannotInspectContainerError at the end).

Batch delivers events at least once and in no guaranteed order: ``duplicate_rate`` delivers
an event twice, ``reorder_rate`` delivers an event after the one that followed it.

On success the DRAGEN metric files (``dragen_outputs``) are written to the job's
``SEQLEDGER_OUTPUT`` folder before the SUCCEEDED event is delivered, as a real job uploads its
outputs before it exits.
"""

from __future__ import annotations

import heapq
import math
import os
import random
import shlex
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lake.errors import ConfigError
from pipeline_runner import dragen_outputs
from pipeline_runner.executors.base import batch_event
from pipeline_runner.records import JobSpec
from pipeline_runner.tags import validate_tags
from pipeline_runner.workflows import sequenced_coverage_x

INFRA_AT_START = (
    "CannotPullContainerError: failed to copy: httpReadSeeker: failed open: unexpected status "
    "code: 429 Too Many Requests",
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve ecr registry auth: RequestError: send request failed",
)
INSPECT_ERROR = ("CannotInspectContainerError: Could not transition to inspecting; timed out "
                 "after waiting 30s")
EXITED = "Essential container in task exited"

Writer = Callable[[str, dict[str, str]], None]


def write_local(folder: str, files: dict[str, str]) -> None:
    """Write files into a local folder (a path or a file:// URI)."""
    path = Path(folder.removeprefix("file://"))
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        # a name of its own: several processes may write the same job's folder at once
        tmp = path / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial"
        tmp.write_text(text)
        tmp.replace(path / name)


# A 30x WGS CRAM is about a third of its gzipped FASTQ (≈ 20 of 60 GB); reference-based
# compression is what makes CRAM small.
CRAM_PER_INPUT_BYTE = 0.33


def write_sparse(folder: str, name: str, size: int) -> None:
    """A file of ``size`` bytes that occupies (almost) no disk: its size is what is listed."""
    path = Path(folder.removeprefix("file://"))
    path.mkdir(parents=True, exist_ok=True)
    with open(path / name, "wb") as f:
        f.truncate(size)


@dataclass(frozen=True, slots=True)
class SimulatedJob:
    """What the simulator decided for one job (for tests and what-if reports)."""

    job_id: str
    spec: JobSpec
    created_at: datetime
    instance_type: str
    instance_id: str
    outcome: str  # succeeded | spot_reclaim | application_error | infrastructure
    ends_at: datetime
    running_s: float  # time spent RUNNING (0 if it never ran)
    sequenced_coverage_x: float


class SimulatedBatch:
    """Batch on Spot, simulated. ``submit`` jobs, then ``advance`` the clock to get events."""

    name = "simulated"

    def __init__(self, seed: int = 0, clock_start: datetime | None = None, *,
                 spot_reclaim_rate: float = 0.08, app_failure_rate: float = 0.02,
                 infra_failure_rate: float = 0.01, duplicate_rate: float = 0.0,
                 reorder_rate: float = 0.0, capacity_shortage_rate: float = 0.05,
                 region: str = "us-east-1", account: str = "123456789012",
                 image: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dragen:4.2.4",
                 write_outputs: bool = True, writer: Writer | None = None,
                 extra_outputs: Callable[[Mapping[str, str]], dict[str, str]] | None = None,
                 alignment_outputs: bool = False, instance_events: bool = False,
                 ) -> None:
        for name, rate in (("spot_reclaim_rate", spot_reclaim_rate),
                           ("app_failure_rate", app_failure_rate),
                           ("infra_failure_rate", infra_failure_rate),
                           ("duplicate_rate", duplicate_rate), ("reorder_rate", reorder_rate),
                           ("capacity_shortage_rate", capacity_shortage_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"SimulatedBatch {name}={rate}: a rate is between 0 and 1")
        self.seed = seed
        self.now = (clock_start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)).astimezone(UTC)
        self.spot_reclaim_rate = spot_reclaim_rate
        self.app_failure_rate = app_failure_rate
        self.infra_failure_rate = infra_failure_rate
        self.duplicate_rate = duplicate_rate
        self.reorder_rate = reorder_rate
        self.capacity_shortage_rate = capacity_shortage_rate
        self.region, self.account, self.image = region, account, image
        self.write_outputs = write_outputs
        self.writer = writer
        # More files a successful job writes beside DRAGEN's, from its tags (e.g. hap.py results).
        self.extra_outputs = extra_outputs
        # A successful job also leaves its CRAM (local folders only), as a sparse file of a
        # realistic size: what storage and archival measure, without writing the bytes.
        self.alignment_outputs = alignment_outputs
        self._alignments: dict[str, tuple[str, int]] = {}  # job id -> (file name, size)
        # Also deliver the "EC2 Instance State-change Notification" events of each job's
        # instance (launch before the job, termination after Batch's idle scale-down).
        self.instance_events = instance_events
        self._instances: dict[str, dict[str, Any]] = {}  # instance id -> DescribeInstances
        self.jobs: dict[str, SimulatedJob] = {}
        self._outputs: dict[str, tuple[str, dict[str, str]]] = {}  # job id -> (folder, files)
        self._written: set[str] = set()
        self._heap: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._seq = 0
        self._names: dict[str, int] = {}

    # -- submission ----------------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> str:
        """Accept a job at the simulator's clock; schedule its events. Returns the job id."""
        return self.submit_at(spec, self.now)

    def submit_at(self, spec: JobSpec, at: datetime) -> str:
        """Accept a job created at ``at`` (the time the runner records its submission under,
        which ``adopt`` plans from again after a crash); schedule its events."""
        validate_tags(spec.tags, spec.job_name)
        out = spec.environment.get("SEQLEDGER_OUTPUT")
        if self.write_outputs and self.writer is None and out and "://" in out \
                and not out.startswith("file://"):
            raise ConfigError(f"job {spec.job_name}: output {out} is not a local folder; give "
                              "SimulatedBatch a writer for it")
        n = self._names.get(spec.job_name, 0)
        self._names[spec.job_name] = n + 1
        rng = random.Random(f"sim:{self.seed}:{spec.job_name}:{n}")
        job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job, timeline = self._plan(spec, job_id, rng, at)
        self.jobs[job_id] = job
        # delivery (latency, copies, order) has its own generator: asking for duplicates or
        # reordering changes how events arrive, never what happens to the jobs
        self._schedule(job, timeline, rng, random.Random(f"sim-delivery:{self.seed}:{job_id}"))
        return job_id

    def find(self, spec: JobSpec) -> list[str]:
        """Ids of the jobs this simulator accepted under ``spec.job_name``, in order."""
        return [j for j, job in self.jobs.items() if job.spec.job_name == spec.job_name]

    def terminate(self, job_id: str, reason: str) -> None:
        """Drop a job's undelivered events and outputs (a duplicate never reports)."""
        self._heap = [e for e in self._heap if e[2] != job_id]
        heapq.heapify(self._heap)
        self._outputs.pop(job_id, None)

    def adopt(self, spec: JobSpec, job_id: str, created_at: datetime | None,
              instances: Collection[str] | None = None) -> bool:
        """Take back a job an earlier process of this simulator submitted (its events died with
        that process): planned again from the same seed and name, it is the same job, and all
        its events come again from ``created_at`` on (the tracker ignores the ones it has, as
        for any redelivery). ``instances``: only a job that ran on one of these (whose
        termination is still to come). False when this simulator already has it, never gave
        that id, or it ran elsewhere."""
        if job_id in self.jobs:
            return False
        for n in range(self._names.get(spec.job_name, 0) + 1):
            rng = random.Random(f"sim:{self.seed}:{spec.job_name}:{n}")
            if str(uuid.UUID(int=rng.getrandbits(128), version=4)) != job_id:
                continue
            job, timeline = self._plan(spec, job_id, rng, created_at)
            if instances is not None and job.instance_id not in instances:
                self._outputs.pop(job_id, None)
                self._alignments.pop(job_id, None)
                return False
            self._names[spec.job_name] = max(self._names.get(spec.job_name, 0), n + 1)
            self.jobs[job_id] = job
            self._schedule(job, timeline, rng, random.Random(f"sim-delivery:{self.seed}:{job_id}"))
            return True
        return False

    def _plan(self, spec: JobSpec, job_id: str, rng: random.Random,
              created_at: datetime | None = None):
        created = (created_at or self.now).astimezone(UTC)
        kind = spec.environment.get("SEQLEDGER_INPUT_KIND", "fastq")
        size = int(spec.environment.get("SEQLEDGER_INPUT_BYTES", "0") or 0)
        instance_type = rng.choice(spec.instance_types or ("f1.4xlarge",))
        instance_id = "i-" + f"{rng.getrandbits(68):017x}"[:17]
        depth = sequenced_coverage_x(kind, size) if size > 0 else None
        release = spec.tags.get("pipeline_release", "")
        profile = dragen_outputs.profile_for(
            spec.tags["sample_id"], self.seed, sequenced_coverage_x=depth,
            dragen_version=dragen_outputs.dragen_version_for(release), workflow=spec.workflow,
            instance_type=instance_type)
        depth = profile.sequenced_coverage_x

        runnable = created + timedelta(seconds=rng.uniform(1, 8))
        if spec.capacity == "spot":
            wait = rng.lognormvariate(math.log(300), 0.7)
            if rng.random() < self.capacity_shortage_rate:
                wait += rng.uniform(20, 90) * 60
        else:
            wait = rng.lognormvariate(math.log(240), 0.5)
        starting = runnable + timedelta(seconds=wait)
        running = starting + timedelta(seconds=rng.uniform(60, 240))
        staging = size / rng.uniform(250e6, 400e6) + rng.uniform(60, 180) + rng.uniform(120, 300)
        runtime = profile.total_runtime_s
        succeeded_at = running + timedelta(seconds=staging + runtime)

        # candidate endings; the earliest one happens
        endings: list[tuple[datetime, str, dict[str, Any]]] = [
            (succeeded_at, "succeeded", {"exit_code": 0, "status_reason": EXITED})]
        run_rng = random.Random(f"sim-run:{self.seed}:{spec.tags.get('run_id')}")
        if run_rng.random() < self.app_failure_rate:  # the same input fails every attempt
            at = running + timedelta(seconds=run_rng.uniform(120, 1500))
            endings.append((at, "application_error", {"exit_code": 1, "status_reason": EXITED}))
        if rng.random() < self.infra_failure_rate:
            if rng.random() < 0.6:
                at = starting + (running - starting) * rng.uniform(0.2, 0.9)
                reason = rng.choice(INFRA_AT_START)
                endings.append((at, "infrastructure", {"status_reason": reason,
                                                       "container_reason": reason}))
            else:
                endings.append((succeeded_at, "infrastructure",
                                {"status_reason": EXITED, "container_reason": INSPECT_ERROR}))
        if spec.capacity == "spot" and rng.random() < self.spot_reclaim_rate:
            at = starting + (succeeded_at - starting) * rng.random()
            code = 143 if at > running and rng.random() < 0.7 else None
            reason = f"Host EC2 (instance {instance_id}) terminated."
            endings.append((at, "spot_reclaim", {"exit_code": code, "status_reason": reason}))
        ends_at, outcome, end = min(endings, key=lambda e: (e[0], e[1] != "succeeded"))

        timeline: list[tuple[str, datetime, dict[str, Any]]] = [("RUNNABLE", runnable, {})]
        placed = {"instance_type": instance_type}
        if ends_at > starting:
            timeline.append(("STARTING", starting, placed))
        ran = ends_at > running and not end.get("status_reason", "").startswith(INFRA_AT_START)
        if ran:
            timeline.append(("RUNNING", running, {**placed, "started_at": running}))
        final = {**placed, **end, "stopped_at": ends_at}
        if ran:
            final["started_at"] = running
        timeline.append(("SUCCEEDED" if outcome == "succeeded" else "FAILED", ends_at, final))

        if outcome == "succeeded" and self.write_outputs and "SEQLEDGER_OUTPUT" in spec.environment:
            profile = replace(profile, command_line=shlex.join(spec.command),
                              inputs=_inputs(spec, size),
                              nodename=f"ip-10-0-{int(instance_id[2:4], 16)}-"
                                       f"{int(instance_id[4:6], 16)}.ec2.internal")
            files = dragen_outputs.render_metrics(profile.sample_id, profile)
            if self.extra_outputs is not None:
                files.update(self.extra_outputs(spec.tags))
            self._outputs[job_id] = (spec.environment["SEQLEDGER_OUTPUT"], files)
            if self.alignment_outputs and size > 0:
                self._alignments[job_id] = (f"{profile.sample_id}.cram",
                                            int(size * CRAM_PER_INPUT_BYTE))
        job = SimulatedJob(job_id, spec, created, instance_type, instance_id, outcome, ends_at,
                           (ends_at - running).total_seconds() if ran else 0.0, depth)
        return job, timeline

    def _schedule(self, job: SimulatedJob, timeline, rng: random.Random,
                  delivery: random.Random) -> None:
        spec = job.spec
        suffix = job.job_id.split("-")[0]
        ecs = f"arn:aws:ecs:{self.region}:{self.account}"
        cluster = f"dragen-{spec.capacity}"
        container_instance = f"{ecs}:container-instance/{cluster}/{job.instance_id[2:]}"
        task = f"{ecs}:task/{cluster}/{suffix}{job.instance_id[-8:]}"
        log_stream = f"{spec.workflow}/default/{suffix}"
        deliveries: list[tuple[datetime, dict[str, Any]]] = []
        for status, at, extra in timeline:
            placed = status != "RUNNABLE"
            event = batch_event(
                event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), at=at,
                region=self.region, account=self.account, spec=spec, job_id=job.job_id,
                status=status, created_at=job.created_at,
                job_definition=f"arn:aws:batch:{self.region}:{self.account}:job-definition/"
                               f"{spec.workflow}:1",
                image=self.image, started_at=extra.get("started_at"),
                stopped_at=extra.get("stopped_at"), status_reason=extra.get("status_reason"),
                exit_code=extra.get("exit_code"), container_reason=extra.get("container_reason"),
                instance_type=extra.get("instance_type"),
                container_instance_arn=container_instance if placed else None,
                task_arn=task if status in ("RUNNING", "SUCCEEDED", "FAILED") else None,
                log_stream=log_stream if status in ("RUNNING", "SUCCEEDED", "FAILED") else None)
            deliveries.append((at + timedelta(seconds=delivery.uniform(0.2, 2.0)), event))
        for i in range(1, len(deliveries)):
            if delivery.random() < self.reorder_rate:  # the earlier event arrives after this one
                later = deliveries[i][0] + timedelta(seconds=delivery.uniform(1, 30))
                deliveries[i - 1] = (later, deliveries[i - 1][1])
        for at, event in list(deliveries):
            if delivery.random() < self.duplicate_rate:
                deliveries.append((at + timedelta(seconds=delivery.uniform(1, 120)), event))
        if self.instance_events:
            rng_instance = random.Random(f"sim-instance:{self.seed}:{job.job_id}")
            states = instance_states(job, timeline, rng_instance)
            if states:
                self._instances[job.instance_id] = {
                    "InstanceId": job.instance_id, "InstanceType": job.instance_type,
                    "LaunchTime": states[0][1],
                    "Placement": {"AvailabilityZone": self.region + rng_instance.choice("abcdf")},
                    **({"InstanceLifecycle": "spot"} if spec.capacity == "spot" else {}),
                }
            for state, at in states:
                event = ec2_state_event(
                    event_id=str(uuid.UUID(int=delivery.getrandbits(128), version=4)), at=at,
                    region=self.region, account=self.account, instance_id=job.instance_id,
                    state=state)
                deliveries.append((at + timedelta(seconds=delivery.uniform(0.5, 30.0)), event))
        for at, event in deliveries:
            self._seq += 1
            heapq.heappush(self._heap, (at, self._seq, job.job_id, event))

    def describe_instances(self, InstanceIds: list[str]) -> dict[str, Any]:  # noqa: N803
        """EC2 DescribeInstances over the simulated instances (boto3's argument and reply)."""
        found = [self._instances[i] for i in InstanceIds if i in self._instances]
        return {"Reservations": [{"Instances": found}] if found else []}

    # -- the clock -----------------------------------------------------------------------------
    def next_event_at(self) -> datetime | None:
        """When the next event will be delivered (None when nothing is pending)."""
        return self._heap[0][0] if self._heap else None

    @property
    def pending(self) -> int:
        return len(self._heap)

    def advance(self, until: datetime) -> list[dict[str, Any]]:
        """Move the clock to ``until``; the events delivered meanwhile, in delivery order."""
        until = until.astimezone(UTC)
        events = []
        while self._heap and self._heap[0][0] <= until:
            at, _, job_id, event = heapq.heappop(self._heap)
            self.now = max(self.now, at)
            if event["detail"].get("status") == "SUCCEEDED":
                self._write_outputs(job_id)
            events.append(event)
        self.now = max(self.now, until)
        return events

    def poll(self, now: datetime) -> list[dict[str, Any]]:
        return self.advance(now)

    def run_until_idle(self, on_events: Callable[[list[dict[str, Any]]], object],
                       until: datetime | None = None, window: timedelta | None = None) -> int:
        """Deliver events to ``on_events`` until none are left (or until ``until``); jobs the
        handler submits join in. Returns the number delivered.

        Events go one delivery instant at a time, or, with ``window``, everything delivered
        within ``window`` of the next event at once (fewer, larger lake writes; a resubmission
        then starts at the end of the window).
        """
        delivered = 0
        while (at := self.next_event_at()) is not None and (until is None or at <= until):
            end = at + window if window else at
            events = self.advance(min(end, until) if until else end)
            delivered += len(events)
            on_events(events)
        if until is not None:
            self.now = max(self.now, until.astimezone(UTC))
        return delivered

    def _write_outputs(self, job_id: str) -> None:
        if job_id in self._written or job_id not in self._outputs:
            return
        folder, files = self._outputs.pop(job_id)
        (self.writer or write_local)(folder, files)
        if job_id in self._alignments and self.writer is None:
            name, size = self._alignments.pop(job_id)
            write_sparse(folder, name, size)
        self._written.add(job_id)


# Batch launches an instance for a queued job (boot: pending, then running a few seconds
# later) and, in a managed compute environment, terminates it once it has been idle for a while
# after its last job (the scale-down): the instance is billed for both, outside the container.
BOOT_S = (90.0, 240.0)  # launch (running) to the job's placement (STARTING)
SCALE_DOWN_S = (300.0, 900.0)  # the job's end to the instance's shutting-down


def instance_states(job: SimulatedJob, timeline, rng: random.Random
                    ) -> list[tuple[str, datetime]]:
    """The state changes of the instance a job ran on (one instance per job, as F1/F2 DRAGEN
    jobs take a whole instance): none when the job was never placed."""
    starting = next((at for status, at, _ in timeline if status == "STARTING"), None)
    if starting is None:
        return []
    running = starting - timedelta(seconds=rng.uniform(*BOOT_S))
    if job.outcome == "spot_reclaim":  # the reclaim is the instance's termination
        ending = job.ends_at - timedelta(seconds=rng.uniform(1.0, 5.0))
    else:
        ending = job.ends_at + timedelta(seconds=rng.uniform(*SCALE_DOWN_S))
    return [("pending", running - timedelta(seconds=rng.uniform(10.0, 40.0))),
            ("running", running), ("shutting-down", ending),
            ("terminated", ending + timedelta(seconds=rng.uniform(30.0, 90.0)))]


def ec2_state_event(*, event_id: str, at: datetime, region: str, account: str,
                    instance_id: str, state: str) -> dict[str, Any]:
    """An "EC2 Instance State-change Notification" event in the documented shape (the EC2 User
    Guide's example, tests/fixtures/reference-data/aws-events)."""
    return {
        "id": event_id,
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def _inputs(spec: JobSpec, size: int) -> tuple[tuple[str, str, int], ...]:
    cmd = list(spec.command)
    found = []
    for flag, kind in (("-1", "fastq1"), ("-2", "fastq2"), ("--cram-input", "cram"),
                       ("--bam-input", "bam")):
        if flag in cmd:
            found.append((kind, cmd[cmd.index(flag) + 1]))
    if not found:
        return ()
    share = [0.47, 0.53] if len(found) == 2 else [1.0]
    return tuple((kind, path, int(size * s)) for (kind, path), s in zip(found, share, strict=True))
