"""The Runner: dispatches runs, tracks their jobs, applies the retry policy, writes the lake.

The lake is the source of truth (tables ``runs``, ``job_attempts``, ``decisions``). The Runner
keeps what it has written or read in memory so a long-lived process (the demo, a local server)
does not re-read the lake for every event; a fresh Runner (a Lambda invocation) reads only the
rows of the runs and jobs its events name.

Idempotent and order-proof: every attempt is submitted once, in three steps that can each be
redone: claim (a durable, conditional object named by run and attempt, ``lake.claims``) →
submit, or find the job an earlier claimer submitted → record the lake rows. A redelivered event,
a second process or a re-run after a crash finds the claim and its job instead of submitting
again, and writes the rows that are missing. Each job status is recorded once
(``attempts.apply``); each finished job is decided once (a job is decided when it is terminal and
has no ``decisions`` row, so a redelivered event completes a decision that a crash interrupted,
and never makes a second one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from lake.claims import ClaimState, ClaimStore
from lake.errors import InvalidEvent, SeqledgerError, SubmitError, TransientError
from lake.schemas import table as lake_table
from lake.store import LakeStore, latest_by_key, month_of, months_between, to_table
from pipeline_runner.arrow_values import values as arrow_values
from pipeline_runner.attempts import (
    ROW_VALUES,
    AttemptContext,
    AttemptHistory,
    adoption_refusal,
    apply,
    histories_from_columns,
    is_conflicting_terminal,
)
from pipeline_runner.executors.base import ClockedExecutor, Executor, JobFinder
from pipeline_runner.policy import Decision, decide
from pipeline_runner.records import REQUIRED_TAGS, JobSpec, JobStateChange
from pipeline_runner.tags import validate_tags
from pipeline_runner.workflows import (
    RunnerConfig,
    RunRequest,
    build_job_spec,
    input_bases,
    job_name,
    output_uri,
    parse_job_name,
)

FINAL_RUN_STATUSES = frozenset({"SUCCEEDED", "FAILED"})


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What ``dispatch`` did: submitted the first attempt, or nothing (already dispatched)."""

    run_id: str
    dispatched: bool
    job_id: str | None = None
    job_name: str | None = None
    reason: str | None = None
    error: SeqledgerError | None = None


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """One attempt of a run, for cost estimates and reports."""

    job_id: str
    attempt: int
    capacity: str | None
    status: str | None
    status_reason: str | None
    exit_code: int | None
    submitted_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    instance_type: str | None
    instance_id: str | None
    job_queue: str | None
    vcpus: int | None
    memory_mib: int | None


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """A run that reached SUCCEEDED or FAILED: where its outputs are and what it took."""

    run_id: str
    sample_id: str
    project: str
    status: str  # SUCCEEDED | FAILED
    finished_at: datetime
    output_uri: str  # the folder of the last attempt (the successful one for SUCCEEDED)
    tags: dict[str, str]
    attempts: tuple[AttemptSummary, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    run_id: str
    attempt: int
    job_id: str
    job_name: str
    capacity: str


@dataclass(frozen=True, slots=True)
class IgnoredChange:
    """A state change that recorded nothing, and why (unknown job, contradicting terminal…)."""

    job_id: str
    event_id: str | None
    reason: str


@dataclass
class TrackResult:
    """What one batch of state changes did."""

    rows_written: dict[str, int] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    submitted: list[SubmittedJob] = field(default_factory=list)
    succeeded_runs: list[FinishedRun] = field(default_factory=list)
    failed_runs: list[FinishedRun] = field(default_factory=list)
    ignored: list[IgnoredChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transient: redelivery will retry them

    @property
    def succeeded_run(self) -> FinishedRun | None:
        return self.succeeded_runs[0] if self.succeeded_runs else None


@dataclass(frozen=True, slots=True)
class _Submission:
    """The job of a claimed attempt, when it was submitted, and duplicates stopped."""

    job_id: str
    at: datetime  # the submission time the claimer recorded; a redo records the same
    decision_rows: tuple[dict[str, Any], ...] = ()


@dataclass
class _Run:
    request: RunRequest
    executor: str | None
    statuses: set[str] = field(default_factory=set)
    jobs: dict[int, str] = field(default_factory=dict)  # attempt -> job id

    @cached_property
    def row_values(self) -> dict[str, Any]:
        """What every ``runs`` row of the run repeats: its tags, inputs, executor, prefix
        (made once: a batch writes two or three rows a run)."""
        req = self.request
        return {
            **req.tags,
            "input_kind": req.input_kind,
            "input_uris": list(req.input_uris),
            "input_size_bytes": req.input_size_bytes,
            "input_bases": input_bases(req.input_kind, req.input_size_bytes),
            "executor": self.executor,
            "output_prefix": req.output_prefix,
        }


@dataclass(frozen=True, slots=True)
class _Resubmission:
    """A decided job whose next attempt waits to be submitted with the batch's others."""

    run: _Run
    history: AttemptHistory
    decision: Decision
    spec: JobSpec
    at: datetime


# What a run's request is rebuilt from (``_request_from_row``)
_REQUEST_COLUMNS = ("project", "sample_id", "run_id", "input_kind", "input_uris",
                    "input_size_bytes", "pipeline_release", "requested_by", "cost_centre",
                    "output_prefix")
# What a job's history is rebuilt from (``histories_from_columns``)
_HISTORY_COLUMNS = tuple(dict.fromkeys(
    ("job_id", "job_name", "run_id", "attempt", "capacity", "job_queue", "vcpus", "memory_mib",
     *REQUIRED_TAGS, *ROW_VALUES)))

# How far back the lake is read for one event: the event's month and the one before (a job's
# events come within days of its submission, a redelivered arrival within days of the first).
LOOKBACK = timedelta(days=31)


def recent_months(at: datetime) -> list[str]:
    """The partitions (YYYY-MM) an event at ``at`` reads: from ``at - LOOKBACK`` to ``at``."""
    return months_between(month_of(at - LOOKBACK), month_of(at))


def run_id_of(change: JobStateChange) -> str | None:
    """The run a job belongs to, from the event alone: its ``run_id`` tag, else its name."""
    parsed = parse_job_name(change.job_name)
    return change.tags.get("run_id") or (parsed[0] if parsed else None)


def _bug(run_id: str, e: Exception) -> SubmitError:
    return SubmitError(f"run {run_id}: the job could not be built or submitted "
                       f"({type(e).__name__}: {e}); a bug, please report it")


def _submitted_change(spec: JobSpec, job_id: str, at: datetime) -> JobStateChange:
    return JobStateChange(
        job_id=job_id,
        job_name=spec.job_name,
        status="SUBMITTED",
        status_at=at,
        job_queue=spec.job_queue,
        tags=dict(spec.tags),
        vcpus=spec.vcpus,
        memory_mib=spec.memory_mib,
    )


def _context(spec: JobSpec) -> AttemptContext:
    return AttemptContext(
        attempt=spec.attempt,
        capacity=spec.capacity,
        tags=spec.tags,
        job_queue=spec.job_queue,
        vcpus=spec.vcpus,
        memory_mib=spec.memory_mib,
    )


class Runner:
    """Turns run requests into jobs and job state changes into lake rows and decisions."""

    def __init__(
        self,
        store: LakeStore,
        executor: Executor,
        config: RunnerConfig,
        estimate_spend: Callable[[str], float] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        claims: ClaimStore | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.config = config
        self.claims = claims or ClaimStore.for_settings(store.settings)
        self.estimate_spend = estimate_spend
        # when resubmissions happen; by default the time of the event that caused them
        self.clock = clock
        self._runs: dict[str, _Run] = {}
        self._histories: dict[str, AttemptHistory] = {}
        self._job_run: dict[str, str] = {}
        self._contexts: dict[str, AttemptContext] = {}
        self._decided: set[str] = set()
        self._decisions: dict[str, tuple[str, str | None]] = {}  # job id -> (action, reason)
        self._finished_runs: set[str] = set()  # runs whose results this Runner handed on

    # -- dispatch ------------------------------------------------------------------------------
    def dispatch(self, run: RunRequest, now: datetime) -> DispatchResult:
        """Submit a run's first attempt and record it; nothing if the run was dispatched before.

        Raises:
            SubmitError: the run's tags are missing or invalid, or the executor refused it.
            TransientError: the executor could not be reached; dispatching again may work.
        """
        result = self.dispatch_many([run], now)[0]
        if result.error is not None:
            raise result.error
        return result

    def dispatch_many(self, runs: Sequence[RunRequest], now: datetime, *,
                      at: Mapping[str, datetime] | None = None,
                      months: Sequence[str] | None = None) -> list[DispatchResult]:
        """Dispatch several runs with one lake read and one write per table.

        A run that cannot be submitted gets a result with its error; the others go on. ``at``
        gives some runs their own dispatch time (replays on the events' clock); else ``now``.
        ``months`` (YYYY-MM): where an earlier dispatch of these runs would be recorded: the
        months around their inputs' arrival (a replay of old events carries old times), by
        default those around ``now``. Never the table's whole history: the dispatch of a new
        run must not scan it to learn that the run is new.
        """
        now = now.astimezone(UTC)
        at = at or {}
        self._load_runs([r.run_id for r in runs], months=list(months or recent_months(now)))
        results: list[DispatchResult] = []
        run_rows: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        decision_rows: list[dict[str, Any]] = []
        remember: list[tuple[AttemptHistory, str, AttemptContext]] = []
        wanted: list[tuple[RunRequest, JobSpec, datetime]] = []
        outcome: dict[int, DispatchResult] = {}  # by position in ``runs``; the others: submitted
        seen: set[str] = set()
        for i, run in enumerate(runs):
            known = self._runs.get(run.run_id)
            if (known is not None and 1 in known.jobs) or run.run_id in seen:
                outcome[i] = DispatchResult(run.run_id, False, reason="already dispatched")
                continue
            seen.add(run.run_id)
            # A run recorded without its first job (a crash between the two writes) is finished
            # here: the claim finds the job if one was submitted, and the rows are written again.
            try:
                validate_tags(run.tags, job_name(run.run_id, 1))
                spec = build_job_spec(run, 1, self.config.initial_capacity, self.config)
            except SubmitError as e:
                outcome[i] = DispatchResult(run.run_id, False, reason=str(e), error=e)
                continue
            except Exception as e:  # noqa: BLE001 - one run's defect must not stop the others
                err = _bug(run.run_id, e)
                outcome[i] = DispatchResult(run.run_id, False, reason=str(err), error=err)
                continue
            # the claim keeps the time, so a redo records the submission as it was
            wanted.append((run, spec, at.get(run.run_id, now).astimezone(UTC)))
        subs = self._submit_many([(r.run_id, spec, t) for r, spec, t in wanted], on_bug=_bug)
        for (run, spec, _), sub in zip(wanted, subs, strict=True):
            if isinstance(sub, SeqledgerError):
                results.append(DispatchResult(run.run_id, False, reason=str(sub), error=sub))
                continue
            known = self._runs.get(run.run_id)
            state = known or _Run(run, getattr(self.executor, "name", None))
            state.statuses.add("DISPATCHED")
            state.jobs[1] = sub.job_id
            history, rows = apply(None, _submitted_change(spec, sub.job_id, sub.at), _context(spec))
            run_rows.append(self._run_row(state, "DISPATCHED", sub.at))
            attempt_rows += rows
            decision_rows += sub.decision_rows
            self._runs[run.run_id] = state
            remember.append((history, run.run_id, _context(spec)))
            results.append(DispatchResult(run.run_id, True, sub.job_id, spec.job_name))
        submitted = iter(results)
        results = [outcome[i] if i in outcome else next(submitted) for i in range(len(runs))]
        # Any order is safe: a run without its job is re-dispatched from its claim.
        if run_rows:
            self.store.write("runs", run_rows)
            self.store.write("job_attempts", attempt_rows)
        if decision_rows:
            self.store.write("decisions", decision_rows)
        for item in remember:
            self._remember(*item)
        return results

    def _submit_once(self, run_id: str, spec: JobSpec, at: datetime) -> _Submission:
        """Claim the attempt, then submit it, or find the job an earlier claimer submitted.

        Raises:
            TransientError: another process holds the claim and its job is not visible yet,
                or the claim store or the executor could not be reached; retrying may work.
            SubmitError: the executor refused the job.
        """
        (out,) = self._submit_many([(run_id, spec, at)])
        if isinstance(out, SeqledgerError):
            raise out
        return out

    def _submit_many(
        self, items: Sequence[tuple[str, JobSpec, datetime]],
        on_bug: Callable[[str, Exception], SubmitError] | None = None,
    ) -> list[_Submission | SubmitError | TransientError]:
        """``_submit_once`` of several attempts (run id, spec, at), each its own outcome.

        The claims are made durable together before any job is submitted, and the jobs
        recorded together after: a crash in between leaves claims without a job, which the
        next claimer resolves as for one attempt (it finds the job by name before submitting).
        ``on_bug``: an unexpected error of one submission becomes that attempt's SubmitError
        (else it is raised).
        """
        claims = self.claims
        states = claims.acquire_many([(r, s.attempt, s.job_name, at) for r, s, at in items])
        out: list[_Submission | SubmitError | TransientError | None] = [None] * len(items)
        submitted: list[tuple[int, ClaimState, str]] = []
        for i, ((run_id, spec, _), state) in enumerate(zip(items, states, strict=True)):
            try:
                if isinstance(state, TransientError):
                    raise state
                held = self._hold(run_id, spec, state)
                if isinstance(held, _Submission):
                    self._adopt(spec, held.job_id, held.at)
                    out[i] = held
                    continue
                try:
                    # a clocked executor plans the job at the claim's time, as a redo adopts it
                    job_id = (self.executor.submit_at(spec, held.claim.at)
                              if isinstance(self.executor, ClockedExecutor)
                              else self.executor.submit(spec))
                except (SubmitError, TransientError) as e:
                    # Nothing was made (or, after a timeout, maybe something: the next claimer
                    # looks for it by name before submitting), so a retry need not wait.
                    claims.release(held.claim, str(e))
                    raise
                submitted.append((i, held, job_id))
            except (SubmitError, TransientError) as e:
                out[i] = e
            except Exception as e:
                if on_bug is None:
                    raise
                out[i] = on_bug(run_id, e)
        recorded = claims.record_jobs(
            [(items[i][0], items[i][1].attempt, job_id) for i, _, job_id in submitted])
        for (i, state, job_id), kept in zip(submitted, recorded, strict=True):
            spec = items[i][1]
            if isinstance(kept, TransientError):
                out[i] = kept
                continue
            # A takeover may race a late submission of the claimer it replaced: look for it.
            others = [job_id] if kept != job_id else (
                self._find(spec) if state.claim.generation else [])
            out[i] = _Submission(kept, state.claim.at, self._stop_duplicates(spec, kept, others))
        return [o for o in out if o is not None]

    def _hold(self, run_id: str, spec: JobSpec, state: ClaimState) -> ClaimState | _Submission:
        """The claim this caller now holds (won, or taken over), or the job an earlier
        claimer submitted."""
        if state.won:
            return state
        claims, attempt = self.claims, spec.attempt
        found = [] if state.job_id else self._find(spec)
        job_id = state.job_id or (claims.record_job(run_id, attempt, found[0]) if found else None)
        if job_id is not None:
            return _Submission(job_id, state.claim.at, self._stop_duplicates(spec, job_id, found))
        if not claims.can_take_over(state):
            c = state.claim
            raise TransientError(
                f"attempt {attempt} of run {run_id} was claimed by {c.claimed_by} at "
                f"{c.claimed_at:%Y-%m-%d %H:%M:%S}Z and has no job yet; a claim with no job "
                f"is taken over after {claims.takeover_after}"
            )
        state = claims.take_over(state)
        if not state.won:
            raise TransientError(
                f"attempt {attempt} of run {run_id}: {state.claim.claimed_by} took the "
                "claim over first"
            )
        return state

    def _adopt(self, spec: JobSpec, job_id: str, at: datetime | None,
               only_on: set[str] | None = None) -> bool:
        """An in-process executor (the simulator) takes back a job a killed process submitted
        (``only_on``: only if it ran on one of these instances)."""
        adopt = getattr(self.executor, "adopt", None)
        if adopt is None:
            return False
        return bool(adopt(spec, job_id, at) if only_on is None
                    else adopt(spec, job_id, at, instances=only_on))

    def resume_lost_jobs(self, months: list[str]) -> int:
        """Give an in-process executor back the jobs of ``months`` a killed process left.

        The simulator's jobs live in its process: a process killed mid-run takes their pending
        events with it, and a run whose attempt was submitted there would wait for ever (on AWS
        Batch the job goes on, and its events come). Taken back, a job's events come again;
        the ones already recorded change nothing. Taken back:

        - every job of an open run, or of a finished run whose results were not written (its
          deciding job has no cost rows: ``finish_runs`` prices a run last, after its metrics;
          cost rows of earlier attempts, priced when their instance ended, do not count);
        - a job of a finished run that ran on an instance still open in the lake (launched, its
          termination not recorded: the idle scale-down comes after the job's end).

        Returns how many.
        """
        if getattr(self.executor, "adopt", None) is None:
            return 0
        files = self.store.files("runs", months)
        if not files:
            return 0
        tbl = ds.dataset(files, schema=lake_table("runs").schema, format="parquet",
                         filesystem=self.store.fs).to_table(columns=["run_id", "status"])
        final = {r for r, st in zip(tbl.column("run_id").to_pylist(),
                                    tbl.column("status").to_pylist(), strict=True)
                 if st in FINAL_RUN_STATUSES}
        deciding = self._deciding_jobs(months)  # run id -> (its final job, decided at)
        priced = self._column_values("costs", "job_id", months)
        done = {r for r in final if r in deciding and deciding[r][0] in priced}
        open_runs = set(tbl.column("run_id").to_pylist()) - done
        # an instance still open can only have run jobs that ended after it was launched
        instances = self._open_instances(months)
        since = min(instances.values(), default=None)
        ended_since = {r for r in done if since is not None and deciding[r][1] >= since}
        self._load_runs(sorted(open_runs | ended_since), months=months)
        taken = 0
        for run_id in sorted(open_runs | ended_since):
            run = self._runs.get(run_id)
            if run is None:
                continue
            only_on = None if run_id in open_runs else set(instances)
            for attempt, job_id in sorted(run.jobs.items()):
                history = self._histories.get(job_id)
                if history is None:
                    continue
                spec = build_job_spec(run.request, attempt, history.capacity or "spot",
                                      self.config)
                taken += self._adopt(spec, job_id,
                                     history.times.get("SUBMITTED") or history.status_at,
                                     only_on)
        return taken

    def _deciding_jobs(self, months: list[str]) -> dict[str, tuple[str, datetime]]:
        """Run id -> (job id, decided at) of the decision that finished each run."""
        files = self.store.files("decisions", months)
        if not files:
            return {}
        tbl = ds.dataset(files, schema=lake_table("decisions").schema, format="parquet",
                         filesystem=self.store.fs).to_table(
            columns=["run_id", "job_id", "action", "decided_at"],
            filter=pc.field("action").isin(["complete", "give_up"]))
        return {r: (j, at) for r, j, at in zip(*(tbl.column(c).to_pylist() for c in (
            "run_id", "job_id", "decided_at")), strict=True)}

    def _open_instances(self, months: list[str]) -> dict[str, datetime]:
        """Instance id -> launch time of the instances launched but not ended in ``months``."""
        from pipeline_runner.instances import still_open

        files = self.store.files("instances", months)
        if not files:
            return {}
        return still_open(ds.dataset(files, schema=lake_table("instances").schema,
                                     format="parquet", filesystem=self.store.fs).to_table(
            columns=["instance_id", "state", "state_at"]).to_pylist())

    def _column_values(self, name: str, column: str, months: list[str]) -> set[str]:
        files = self.store.files(name, months)
        if not files:
            return set()
        tbl = ds.dataset(files, schema=lake_table(name).schema, format="parquet",
                         filesystem=self.store.fs).to_table(columns=[column])
        return set(tbl.column(column).to_pylist())

    def _find(self, spec: JobSpec) -> list[str]:
        return self.executor.find(spec) if isinstance(self.executor, JobFinder) else []

    def _stop_duplicates(
        self, spec: JobSpec, keep: str, candidates: Iterable[str]
    ) -> tuple[dict[str, Any], ...]:
        """Terminate every job of the attempt but ``keep``; a decision row for each."""
        rows = []
        for job_id in dict.fromkeys(candidates):
            if job_id == keep:
                continue
            reason = (
                f"duplicate of attempt {spec.attempt} of run {spec.tags['run_id']}: "
                f"{keep} is the attempt's job"
            )
            if isinstance(self.executor, JobFinder):
                self.executor.terminate(job_id, reason)
            decision = Decision(job_id, spec.attempt, "terminate_duplicate", "duplicate", reason)
            rows.append(decision.row(spec.tags, datetime.now(UTC)))
        return tuple(rows)

    # -- tracking ------------------------------------------------------------------------------
    def on_job_state_change(self, change: JobStateChange) -> TrackResult:
        return self.on_job_state_changes([change])

    def on_job_state_changes(self, changes: Sequence[JobStateChange]) -> TrackResult:
        """Apply a batch of state changes; each table is written at most once."""
        result = TrackResult()
        attempt_rows: list[dict[str, Any]] = []
        decision_rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        self._prepare(changes)
        self._track(changes, result, attempt_rows, decision_rows, run_rows)
        self._write(result, attempt_rows, decision_rows, run_rows)
        return result

    def on_job_state_columns(self, changes: pa.Table) -> TrackResult:
        """Apply a batch of state changes held as columns (``change_columns.CHANGE_SCHEMA``):
        the same rows, decisions and results as ``on_job_state_changes`` on the same changes in
        ``seq`` order, at a fraction of the cost for the bulk of a replay.

        A change of a known, unfinished attempt that moves it forward without finishing it
        (RUNNABLE, STARTING, RUNNING…) records a row that depends only on the attempt's
        submission and the event: those are deduplicated and written as columns, and folded
        into the attempt's history once per job. Everything else (a terminal state, an unknown
        job, and every later change of the same run, so each run's order is kept) goes through
        ``on_job_state_changes``' own loop, after the columnar part.
        """
        from pipeline_runner.change_columns import changes_from_table, fast_changes, runs_to_load

        result = TrackResult()
        decision_rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        order = pc.sort_indices(changes, [("status_at", "ascending"), ("seq", "ascending")])
        changes = changes.take(order)
        self._load_for(*runs_to_load(changes, self._job_run, recent_months))
        plan = fast_changes(changes, self._histories, self._job_run, self._runs, run_id_of)
        for job_id, history in plan.histories.items():
            self._histories[job_id] = history
        for run_id, at in plan.running.items():
            run = self._runs[run_id]
            run.statuses.add("RUNNING")
            run_rows.append(self._run_row(run, "RUNNING", at))
        slow: list[dict[str, Any]] = []
        # typed: an empty list would be a null array, which take() refuses
        slow_changes = changes.take(pa.array(plan.slow, pa.int64()))
        self._track(changes_from_table(slow_changes), result, slow, decision_rows, run_rows)
        attempts = lake_table("job_attempts")
        tables = [t for t in (plan.rows, to_table(attempts, slow) if slow else None)
                  if t is not None and t.num_rows]
        attempt_rows = pa.concat_tables([to_table(attempts, t) for t in tables]) if tables \
            else []
        self._write(result, attempt_rows, decision_rows, run_rows)
        return result

    def _track(self, changes: Sequence[JobStateChange], result: TrackResult,
               attempt_rows: list, decision_rows: list, run_rows: list) -> None:
        # Resubmissions wait to be claimed and submitted together at the end of a pass. The
        # later changes of a run with one waiting (a redelivery of its final event, its next
        # attempt's events) are set aside for the next pass, in order: each run still sees its
        # changes one by one, and runs do not depend on each other.
        while changes:
            changes = self._track_pass(changes, result, attempt_rows, decision_rows, run_rows)

    def _track_pass(self, changes: Sequence[JobStateChange], result: TrackResult,
                    attempt_rows: list, decision_rows: list,
                    run_rows: list) -> list[JobStateChange]:
        pending: list[_Resubmission] = []
        waiting: set[str] = set()
        later: list[JobStateChange] = []
        for change in changes:
            if waiting and (self._job_run.get(change.job_id) or run_id_of(change)) in waiting:
                later.append(change)
                continue
            found = self._locate(change)
            if isinstance(found, str):
                result.ignored.append(IgnoredChange(change.job_id, change.event_id, found))
                continue
            run, ctx = found
            old = self._histories.get(change.job_id)
            if is_conflicting_terminal(old, change):
                result.ignored.append(
                    IgnoredChange(
                        change.job_id,
                        change.event_id,
                        f"{change.status} contradicts the recorded {old.status}; a terminal state "
                        "is final",
                    )
                )
                continue
            try:
                history, rows = apply(old, change, ctx)
            except (InvalidEvent, ValueError) as e:
                result.ignored.append(IgnoredChange(change.job_id, change.event_id, str(e)))
                continue
            self._remember(history, run.request.run_id, ctx)
            attempt_rows += rows
            # also after the run finished: a late RUNNING row is history (views keep the run
            # finished), and dropping it would make the rows depend on delivery order
            if "RUNNING" in history.statuses and "RUNNING" not in run.statuses:
                run.statuses.add("RUNNING")
                run_rows.append(self._run_row(run, "RUNNING", history.times["RUNNING"]))
            if history.is_terminal and history.job_id not in self._decided:
                self._decide(run, history, result, attempt_rows, decision_rows, run_rows,
                             pending)
                if pending and pending[-1].history is history:
                    waiting.add(run.request.run_id)
            elif history.is_terminal:
                self._finish_again(run, history, result, run_rows)
        if pending:
            self._resubmit(pending, result, attempt_rows, decision_rows, run_rows)
        return later

    def _finish_again(
        self, run: _Run, history: AttemptHistory, result: TrackResult, run_rows: list
    ) -> None:
        """A redelivered final event of a run already decided complete or given up: finish
        what a crash after the decision may have left (the run's final row, its results).
        Every step is a keyed write, so redoing one that was done changes nothing."""
        action, reason = self._decisions.get(history.job_id, (None, None))
        final = {"complete": "SUCCEEDED", "give_up": "FAILED"}.get(action or "")
        run_id = run.request.run_id
        if final is None or run_id in self._finished_runs or max(run.jobs) != history.attempt:
            return
        at = history.status_at or datetime.now(UTC)
        reason = reason or ""
        if not run.statuses & FINAL_RUN_STATUSES:
            run.statuses.add(final)
            run_rows.append(self._run_row(run, final, at, None if final == "SUCCEEDED" else reason))
        finished = self._finished(run, history, final, at, reason)
        (result.succeeded_runs if final == "SUCCEEDED" else result.failed_runs).append(finished)
        self._finished_runs.add(run_id)

    def resume_undecided(self) -> TrackResult:
        """Decide the finished jobs left undecided because a resubmission hit a transient error
        (``TrackResult.errors``); a redelivered event for the job does the same."""
        result = TrackResult()
        attempt_rows: list[dict[str, Any]] = []
        decision_rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        for job_id, history in list(self._histories.items()):
            if history.is_terminal and job_id not in self._decided:
                run = self._runs[self._job_run[job_id]]
                self._decide(run, history, result, attempt_rows, decision_rows, run_rows)
        self._write(result, attempt_rows, decision_rows, run_rows)
        return result

    def _write(
        self, result: TrackResult, attempt_rows: list | pa.Table, decision_rows: list,
        run_rows: list
    ) -> None:
        # job attempts first: a decision or run status is never visible before its cause
        for name, rows in (
            ("job_attempts", attempt_rows),
            ("decisions", decision_rows),
            ("runs", run_rows),
        ):
            if len(rows):
                result.rows_written[name] = self.store.write(name, rows).rows_written

    def _decide(
        self,
        run: _Run,
        history: AttemptHistory,
        result: TrackResult,
        attempt_rows: list,
        decision_rows: list,
        run_rows: list,
        pending: list[_Resubmission] | None = None,
    ) -> None:
        """Decide a finished job; a resubmission it needs joins ``pending`` (submitted with
        the batch's others by ``_resubmit``) or, without ``pending``, is submitted now."""
        outcomes = [
            self._histories[j].outcome()
            for a, j in sorted(run.jobs.items())
            if a <= history.attempt and j in self._histories and self._histories[j].is_terminal
        ]
        if not outcomes or outcomes[-1].job_id != history.job_id:
            outcomes.append(history.outcome())
        estimate, run_id = self.estimate_spend, run.request.run_id
        decision = decide(outcomes, self.config,
                          (lambda: float(estimate(run_id))) if estimate else 0.0)
        decided_at = history.status_at or datetime.now(UTC)
        next_attempt = history.attempt + 1
        run_open = not run.statuses & FINAL_RUN_STATUSES
        if decision.retries and next_attempt not in run.jobs and run_open:
            spec = build_job_spec(
                run.request, next_attempt, decision.next_capacity or "spot", self.config
            )
            at = self.clock() if self.clock else decided_at
            wanted = _Resubmission(run, history, decision, spec, at)
            if pending is None:
                self._resubmit([wanted], result, attempt_rows, decision_rows, run_rows)
            else:
                pending.append(wanted)
            return
        self._record_decision(run, history, decision, result, decision_rows, run_rows)

    def _resubmit(self, pending: Sequence[_Resubmission], result: TrackResult,
                  attempt_rows: list, decision_rows: list, run_rows: list) -> None:
        """Submit the next attempts ``pending`` asks for (claimed together), then record each
        decision as ``_decide`` would have one by one."""
        subs = self._submit_many([(p.run.request.run_id, p.spec, p.at) for p in pending])
        for p, sub in zip(pending, subs, strict=True):
            run, spec, decision = p.run, p.spec, p.decision
            if isinstance(sub, TransientError):
                # no decision row: the job stays undecided, and a redelivered event retries
                result.errors.append(
                    f"run {run.request.run_id}: resubmitting attempt {spec.attempt} failed: {sub}"
                )
                continue
            if isinstance(sub, SubmitError):
                decision = Decision(
                    decision.job_id,
                    decision.attempt,
                    "give_up",
                    decision.failure_kind,
                    f"{decision.reason}; but the resubmission was refused: {sub}",
                )
            else:
                job_id = sub.job_id
                new, rows = apply(None, _submitted_change(spec, job_id, sub.at), _context(spec))
                attempt_rows += rows
                decision_rows += sub.decision_rows
                run.jobs[spec.attempt] = job_id
                self._remember(new, run.request.run_id, _context(spec))
                result.submitted.append(
                    SubmittedJob(
                        run.request.run_id, spec.attempt, job_id, spec.job_name, spec.capacity
                    )
                )
            self._record_decision(run, p.history, decision, result, decision_rows, run_rows)

    def _record_decision(self, run: _Run, history: AttemptHistory, decision: Decision,
                         result: TrackResult, decision_rows: list, run_rows: list) -> None:
        decided_at = history.status_at or datetime.now(UTC)
        decision_rows.append(decision.row(history.tags or run.request.tags, decided_at))
        self._decided.add(history.job_id)
        self._decisions[history.job_id] = (decision.action, decision.reason)
        result.decisions.append(decision)
        final = {"complete": "SUCCEEDED", "give_up": "FAILED"}.get(decision.action)
        if final and not run.statuses & FINAL_RUN_STATUSES:
            run.statuses.add(final)
            reason = None if final == "SUCCEEDED" else decision.reason
            run_rows.append(self._run_row(run, final, decided_at, reason))
            finished = self._finished(run, history, final, decided_at, decision.reason)
            (result.succeeded_runs if final == "SUCCEEDED" else result.failed_runs).append(finished)
            self._finished_runs.add(run.request.run_id)

    # -- state, from memory or the lake --------------------------------------------------------
    def _remember(self, history: AttemptHistory, run_id: str, ctx: AttemptContext) -> None:
        self._histories[history.job_id] = history
        self._job_run[history.job_id] = run_id
        self._contexts.setdefault(history.job_id, ctx)

    def _prepare(self, changes: Iterable[JobStateChange]) -> None:
        """Load the runs of the jobs the events name, reading only recent partitions.

        A job's identity travels with its event: the run from its ``run_id`` tag or its name
        (``job_name``), the attempt from its name. Only a job that carries neither is looked up
        in ``job_attempts``, and then in the months around the event, never the whole history.
        """
        changes = [c for c in changes if c.job_id not in self._job_run]
        if not changes:
            return
        months = sorted({m for c in changes for m in recent_months(c.status_at)})
        run_ids: set[str] = set()
        anonymous: set[str] = set()
        for c in changes:
            run_id = run_id_of(c)
            if run_id:
                run_ids.add(run_id)
            else:
                anonymous.add(c.job_id)
        self._load_for(run_ids, anonymous, months)

    def _load_for(self, run_ids: set[str], anonymous: set[str], months: list[str]) -> None:
        """Load the runs ``run_ids`` and those of the ``anonymous`` jobs (no run id in their
        event), looking in ``months`` first."""
        if not run_ids and not anonymous:
            return
        if anonymous:
            rows = self._read_where(
                "job_attempts", "job_id", anonymous, columns=["job_id", "run_id"], months=months
            )
            run_ids |= {r["run_id"] for r in rows if r.get("run_id")}
        self._load_runs(run_ids, months=months, or_anywhere=True)

    def _load_runs(
        self, run_ids: Iterable[str], months: list[str] | None = None, or_anywhere: bool = False
    ) -> None:
        """Read the runs' rows, job attempts and decisions the Runner has not seen yet.

        ``months``: the partitions of ``runs`` to look in (None: all). ``or_anywhere``: look
        through the rest of the table for runs not found there (a job event more than a month
        away from its run's dispatch: rare, and then the only lookup that reads history).
        """
        missing = sorted({r for r in run_ids if r not in self._runs})  # per run, not per known run
        if not missing:
            return
        tbl = self._read_table("runs", "run_id", missing, months=months)
        found = set(tbl.column("run_id").to_pylist()) if tbl is not None else set()
        not_found = sorted(set(missing) - found)
        if or_anywhere and months is not None and not_found:
            # before the window (a late event) or after it (a run recorded at processing time
            # later than its events' own times, e.g. a replay)
            others = [m for m in self.store.months("runs") if m not in months]
            more = self._read_table("runs", "run_id", not_found, months=others) \
                if others else None
            if more is not None:
                tbl = more if tbl is None else pa.concat_tables([tbl, more])
        if tbl is None or not tbl.num_rows:
            return
        runs = self._runs_from(tbl)
        # A run's jobs and decisions are recorded from its dispatch on: read only those months
        # of the big tables, not years of history (benchmarks/bench_lake.py, "lookup").
        # (and the months of the events being handled, which may precede a replay's dispatch)
        at = pc.min_max(tbl.column("status_at"))
        first_month = f"{at['min'].as_py():%Y-%m}" if at["min"].is_valid else None
        last_month = f"{at['max'].as_py():%Y-%m}" if at["max"].is_valid else None
        since = min([first_month, *(months or [])]) if first_month else None
        until = max([last_month or first_month, *(months or [])]) if first_month else None
        span = months_between(since, until) if since else None
        attempts = self._read_table("job_attempts", "run_id", list(runs), months=span,
                                    columns=_HISTORY_COLUMNS)
        if attempts is not None:
            cols = {n: arrow_values(attempts.column(n)) for n in _HISTORY_COLUMNS}
            run_of = cols["run_id"]
            for history, ctx, first in histories_from_columns(cols):
                run_id = run_of[first]
                runs[run_id].jobs.setdefault(history.attempt, history.job_id)
                self._remember(history, run_id, ctx)
        decided = self._read_where(
            "decisions", "run_id", list(runs), columns=["job_id", "action", "reason"],
            months=span
        )
        self._decided.update(r["job_id"] for r in decided)
        self._decisions.update((r["job_id"], (r["action"], r["reason"])) for r in decided)
        self._runs.update(runs)

    def _read_where(
        self,
        name: str,
        column: str,
        values: Iterable[str],
        columns: list[str],
        months: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``columns`` of a table's rows whose ``column`` is one of ``values`` (every row,
        not one per key); only the partitions of ``months`` (YYYY-MM) if given."""
        tbl = self._read_table(name, column, values, months=months, columns=columns,
                               latest=False)
        return [] if tbl is None else tbl.to_pylist()

    def _read_table(
        self,
        name: str,
        column: str,
        values: Iterable[str],
        months: list[str] | None = None,
        columns: Sequence[str] | None = None,
        latest: bool = True,
    ) -> pa.Table | None:
        """The rows of a table whose ``column`` is one of ``values``, one per key if
        ``latest`` (then ``columns`` are those kept after); only the partitions of ``months``
        (YYYY-MM) if given. None when there is nothing to read."""
        values = list(values)
        if not values:
            return None
        files = self.store.files(name, months)
        if not files:
            return None
        spec = lake_table(name)
        dataset = ds.dataset(files, schema=spec.schema, format="parquet", filesystem=self.store.fs)
        read = None if columns is None else list(dict.fromkeys(
            (*columns, *((*spec.key, spec.order_by, *spec.tie_break, "recorded_at")
                         if latest else ()))))
        tbl = dataset.to_table(columns=read, filter=pc.field(column).isin(values))
        if latest:
            tbl = latest_by_key(tbl, spec)
        return tbl if columns is None else tbl.select(list(columns))

    def _runs_from(self, tbl: pa.Table) -> dict[str, _Run]:
        """The runs of ``runs`` rows (one per status): each run's request and statuses."""
        names = ("run_id", "status", "executor", *_REQUEST_COLUMNS)
        cols = [tbl.column(n).to_pylist() for n in names]
        runs: dict[str, _Run] = {}
        for run_id, status, executor, *request in zip(*cols, strict=True):
            state = runs.get(run_id)
            if state is None:
                row = dict(zip(_REQUEST_COLUMNS, request, strict=True))
                state = runs[run_id] = _Run(self._request_from_row(row), executor)
            state.statuses.add(status)
        return runs

    def _request_from_row(self, row: dict[str, Any]) -> RunRequest:
        return RunRequest(
            project=row["project"],
            sample_id=row["sample_id"],
            run_id=row["run_id"],
            input_kind=row["input_kind"],
            input_uris=tuple(row.get("input_uris") or ()),
            input_size_bytes=int(row.get("input_size_bytes") or 0),
            pipeline_release=row["pipeline_release"],
            requested_by=row["requested_by"],
            cost_centre=row["cost_centre"],
            # rows written before the column existed fall back to the runner's prefix
            output_prefix=row.get("output_prefix") or self.config.output_prefix,
        )

    def _locate(self, change: JobStateChange) -> tuple[_Run, AttemptContext] | str:
        """The run and submission context of a change's job, or why there is none."""
        run_id = self._job_run.get(change.job_id)
        if run_id is not None:
            return self._runs[run_id], self._contexts[change.job_id]
        parsed = parse_job_name(change.job_name)
        run_id = run_id_of(change)
        run = self._runs.get(run_id or "")
        if run is None or parsed is None or parsed[0] != run_id:
            return (
                f"job {change.job_id} ({change.job_name or 'no name'}) was not dispatched by "
                f"this runner (no run {run_id!r})"
            )
        attempt = parsed[1]
        if attempt in run.jobs and run.jobs[attempt] != change.job_id:
            return (
                f"job {change.job_id}: attempt {attempt} of run {run_id} is job {run.jobs[attempt]}"
            )
        if refusal := adoption_refusal(run_id, run.statuses, attempt, run.jobs):
            return f"job {change.job_id} ({change.job_name}): {refusal}"
        # a job we submitted but never recorded (the write after submit failed): adopt it
        tags = {k: change.tags[k] for k in REQUIRED_TAGS if change.tags.get(k)}
        ctx = AttemptContext(
            attempt=attempt,
            capacity=self.config.capacity_of_queue(change.job_queue),
            tags=tags if len(tags) == len(REQUIRED_TAGS) else run.request.tags,
            job_queue=change.job_queue,
            vcpus=change.vcpus,
            memory_mib=change.memory_mib,
        )
        run.jobs[attempt] = change.job_id
        self._job_run[change.job_id] = run_id
        self._contexts[change.job_id] = ctx
        return run, ctx

    # -- rows and results ----------------------------------------------------------------------
    def _run_row(
        self, run: _Run, status: str, at: datetime, reason: str | None = None
    ) -> dict[str, Any]:
        return {**run.row_values, "status": status, "status_at": at, "reason": reason}

    def _finished(
        self, run: _Run, last: AttemptHistory, status: str, at: datetime, reason: str
    ) -> FinishedRun:
        req = run.request
        attempts = self._attempt_summaries(run)
        return FinishedRun(
            run_id=req.run_id,
            sample_id=req.sample_id,
            project=req.project,
            status=status,
            finished_at=at,
            output_uri=output_uri(req, last.attempt),
            tags=dict(req.tags),
            attempts=tuple(attempts),
            reason=reason,
        )

    def _attempt_summaries(self, run: _Run) -> tuple[AttemptSummary, ...]:
        attempts = []
        for attempt, job_id in sorted(run.jobs.items()):
            h = self._histories.get(job_id)
            if h is None:
                continue
            attempts.append(
                AttemptSummary(
                    job_id=job_id,
                    attempt=attempt,
                    capacity=h.capacity,
                    status=h.status,
                    status_reason=h.status_reason,
                    exit_code=h.exit_code,
                    submitted_at=h.submitted_at,
                    started_at=h.started_at,
                    stopped_at=h.stopped_at,
                    instance_type=h.instance_type,
                    instance_id=h.instance_id,
                    job_queue=h.job_queue,
                    vcpus=h.vcpus,
                    memory_mib=h.memory_mib,
                )
            )
        return tuple(attempts)

    # -- read access for callers ---------------------------------------------------------------
    def _run(self, run_id: str) -> _Run | None:
        """The run from memory, else from the lake (a results stage asks once per run)."""
        run = self._runs.get(run_id)
        if run is None:
            self._load_runs([run_id])
            run = self._runs.get(run_id)
        return run

    def attempts(self, run_id: str) -> tuple[AttemptSummary, ...]:
        """The run's attempts known to this Runner, in order (empty if the run is unknown)."""
        run = self._run(run_id)
        return self._attempt_summaries(run) if run else ()

    def run_request(self, run_id: str) -> RunRequest | None:
        """The request a run was dispatched with (None if unknown)."""
        run = self._run(run_id)
        return run.request if run else None

    def run_status(self, run_id: str) -> str | None:
        """The run's furthest status known to this Runner (None if unknown)."""
        run = self._run(run_id)
        if run is None:
            return None
        for status in ("SUCCEEDED", "FAILED", "RUNNING", "DISPATCHED"):
            if status in run.statuses:
                return status
        return None

    def history(self, job_id: str) -> AttemptHistory | None:
        return self._histories.get(job_id)

    def knows(self, run_id: str) -> bool:
        """Whether the run is in this Runner's memory (no lake read)."""
        return run_id in self._runs

    def forget_finished(self) -> int:
        """Drop from memory the runs that are over: final, handed on, every job decided. A
        later event of one reads it from the lake again, as a fresh Runner would; a replay of
        a month keeps in memory the runs still open, not every run it saw. How many were
        dropped."""
        over = [
            run_id for run_id in self._finished_runs
            if (run := self._runs.get(run_id)) is not None
            and run.statuses & FINAL_RUN_STATUSES
            and all(j in self._decided for j in run.jobs.values())
        ]
        histories, job_run, contexts, decisions = (self._histories, self._job_run,
                                                   self._contexts, self._decisions)
        for run_id in over:
            jobs = self._runs.pop(run_id).jobs.values()
            for job_id in jobs:
                histories.pop(job_id, None)
                job_run.pop(job_id, None)
                contexts.pop(job_id, None)
                decisions.pop(job_id, None)
            self._decided.difference_update(jobs)
        self._finished_runs.difference_update(over)
        return len(over)
