"""The per-attempt state machine: Batch job-state changes in, ``job_attempts`` rows out.

Batch delivers job events at least once and in no guaranteed order, and may skip states
(RUNNABLE -> FAILED). The machine is built so that any order and any number of copies of the same
events give the same rows and the same final history:

- The attempt's state never goes backwards. Its current status is the furthest one seen; a
  terminal state (SUCCEEDED, FAILED) is final, and the first terminal state seen wins: a SUCCEEDED
  arriving after a FAILED for the same job is ignored. Batch never moves a finished job to another
  terminal state (a Batch-internal retry goes back to RUNNABLE, not through FAILED, and we submit
  with one Batch attempt), so a contradicting terminal event is a stale or bogus one; and by the
  time it arrives the policy has already acted on the FAILED (recorded a decision, perhaps
  submitted the next attempt), which a late SUCCEEDED must not undo.
- Each status is recorded once, as one row keyed (job_id, attempt, status). A copy of an event
  already recorded changes nothing.
- An event for an earlier state that arrives after a later one does not move the attempt back;
  it is still written as the row of that status, with its own (earlier) time. Dropping it would
  make the lake's rows depend on delivery order, and its row is what measures queue wait and
  start-up time. Its information (startedAt, the instance) is merged into the history.

Row contents come only from the event of that status and from the attempt's submission context,
never from what happened to arrive before, which is what makes them order-independent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lake.errors import InvalidEvent
from pipeline_runner.policy import AttemptOutcome
from pipeline_runner.records import JOB_STATES, REQUIRED_TAGS, TERMINAL_STATES, JobStateChange

# Both terminal states share the top rank: neither follows the other.
RANK = {s: min(i, JOB_STATES.index("SUCCEEDED")) for i, s in enumerate(JOB_STATES)}


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """What the runner knows about a job from submitting it: attempt, capacity, tags, resources."""

    attempt: int
    capacity: str | None
    tags: Mapping[str, str]
    job_queue: str | None = None
    vcpus: int | None = None
    memory_mib: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptHistory:
    """Everything known about one attempt (one Batch job), folded from its state changes."""

    job_id: str
    job_name: str
    attempt: int
    capacity: str | None
    tags: Mapping[str, str]
    job_queue: str | None
    vcpus: int | None
    memory_mib: int | None
    statuses: frozenset[str] = frozenset()
    status: str | None = None
    status_at: datetime | None = None
    status_reason: str | None = None  # of the terminal state
    exit_code: int | None = None  # of the terminal state
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    instance_id: str | None = None
    instance_type: str | None = None
    # the status whose event gave each instance field (a later state's event is more reliable)
    instance_from: Mapping[str, str] = field(default_factory=dict, compare=False)
    times: Mapping[str, datetime] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def submitted_at(self) -> datetime | None:
        return self.times.get("SUBMITTED")

    def outcome(self) -> AttemptOutcome:
        """The attempt as the retry policy sees it."""
        return AttemptOutcome(
            job_id=self.job_id, attempt=self.attempt, capacity=self.capacity or "spot",
            status=self.status or "SUBMITTED", status_reason=self.status_reason,
            exit_code=self.exit_code, started_at=self.started_at, stopped_at=self.stopped_at,
            instance_type=self.instance_type,
        )


# The fields a state change updates; the others are the submission's, fixed at the first change.
FOLDED = ("statuses", "status", "status_at", "status_reason", "exit_code", "started_at",
          "stopped_at", "instance_id", "instance_type", "instance_from", "times")


def evolved(h: AttemptHistory, updates: Mapping[str, Any]) -> AttemptHistory:
    """``dataclasses.replace(h, **updates)`` for the ``FOLDED`` fields, without its per-field
    introspection: a batch makes a history per finished job and per job it moves on, and
    ``replace`` was most of that."""
    get = updates.get
    return AttemptHistory(
        h.job_id, h.job_name, h.attempt, h.capacity, h.tags, h.job_queue, h.vcpus, h.memory_mib,
        get("statuses", h.statuses), get("status", h.status), get("status_at", h.status_at),
        get("status_reason", h.status_reason), get("exit_code", h.exit_code),
        get("started_at", h.started_at), get("stopped_at", h.stopped_at),
        get("instance_id", h.instance_id), get("instance_type", h.instance_type),
        get("instance_from", h.instance_from), get("times", h.times))


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}: state changes carry UTC times")
    return ts.astimezone(UTC)


def is_conflicting_terminal(history: AttemptHistory | None, change: JobStateChange) -> bool:
    """True for a terminal state contradicting the one already recorded (ignored, see module)."""
    return (history is not None and history.is_terminal and change.status in TERMINAL_STATES
            and change.status != history.status)


def apply(history: AttemptHistory | None, change: JobStateChange,
          run_ctx: AttemptContext) -> tuple[AttemptHistory, list[dict[str, Any]]]:
    """Fold one state change into an attempt's history; the ``job_attempts`` rows it adds.

    Pure: the same history and change always give the same result.

    Raises:
        InvalidEvent: the status is not a Batch job state.
        ValueError: the change belongs to another job.
    """
    if change.status not in RANK:
        raise InvalidEvent(change.event_id or change.job_id, None,
                           f"job {change.job_id}: unknown status {change.status!r}; "
                           f"expected one of {', '.join(JOB_STATES)}")
    if history is None:
        history = AttemptHistory(
            job_id=change.job_id, job_name=change.job_name, attempt=run_ctx.attempt,
            capacity=run_ctx.capacity,
            tags={k: run_ctx.tags[k] for k in REQUIRED_TAGS if k in run_ctx.tags}
            or {k: change.tags[k] for k in REQUIRED_TAGS if k in change.tags},
            job_queue=run_ctx.job_queue or change.job_queue,
            vcpus=run_ctx.vcpus if run_ctx.vcpus is not None else change.vcpus,
            memory_mib=run_ctx.memory_mib if run_ctx.memory_mib is not None else change.memory_mib,
        )
    elif history.job_id != change.job_id:
        raise ValueError(f"change for job {change.job_id} applied to the history of "
                         f"{history.job_id}")
    if change.status in history.statuses or is_conflicting_terminal(history, change):
        return history, []

    status_at = _utc(change.status_at)
    started, stopped = _utc(change.started_at), _utc(change.stopped_at)
    updates: dict[str, Any] = {
        "statuses": history.statuses | {change.status},
        "times": {**history.times, change.status: status_at},
        # the earliest start and the latest stop any event gave
        "started_at": started if started and (history.started_at is None
                                              or started < history.started_at)
        else history.started_at,
        "stopped_at": stopped if stopped and (history.stopped_at is None
                                              or stopped > history.stopped_at)
        else history.stopped_at,
    }
    sources = dict(history.instance_from)
    for name in ("instance_id", "instance_type"):
        value, source = getattr(change, name), sources.get(name)
        if value and (source is None or RANK[change.status] > RANK[source]):
            updates[name] = value
            sources[name] = change.status
    updates["instance_from"] = sources
    if not history.is_terminal and (history.status is None
                                    or RANK[change.status] > RANK[history.status]):
        updates.update(status=change.status, status_at=status_at)
        if change.status in TERMINAL_STATES:
            updates.update(status_reason=change.status_reason, exit_code=change.exit_code)
    new = evolved(history, updates)
    return new, [_row(new, change, status_at, started, stopped)]


def _row(history: AttemptHistory, change: JobStateChange, status_at: datetime | None,
         started: datetime | None, stopped: datetime | None) -> dict[str, Any]:
    """The change's ``job_attempts`` row (its times already in UTC)."""
    tags = history.tags
    return {
        **{k: tags.get(k) for k in REQUIRED_TAGS},
        "job_id": history.job_id,
        "job_name": history.job_name,
        "attempt": history.attempt,
        "status": change.status,
        "status_at": status_at,
        "status_reason": change.status_reason,
        "exit_code": change.exit_code,
        "job_queue": history.job_queue,
        "capacity": history.capacity,
        "instance_type": change.instance_type,
        "instance_id": change.instance_id,
        "vcpus": history.vcpus,
        "memory_mib": history.memory_mib,
        "started_at": started,
        "stopped_at": stopped,
        "event_id": change.event_id,
    }


def change_from_row(row: Mapping[str, Any]) -> JobStateChange:
    """The state change a ``job_attempts`` row records (to rebuild a history from the lake)."""
    return JobStateChange(
        job_id=row["job_id"], job_name=row.get("job_name") or "", status=row["status"],
        status_at=row["status_at"], job_queue=row.get("job_queue"),
        status_reason=row.get("status_reason"), exit_code=row.get("exit_code"),
        started_at=row.get("started_at"), stopped_at=row.get("stopped_at"),
        instance_id=row.get("instance_id"), instance_type=row.get("instance_type"),
        tags={k: row[k] for k in REQUIRED_TAGS if row.get(k) is not None},
        event_id=row.get("event_id"), vcpus=row.get("vcpus"), memory_mib=row.get("memory_mib"),
    )


def context_from_row(row: Mapping[str, Any]) -> AttemptContext:
    return AttemptContext(
        attempt=int(row["attempt"]), capacity=row.get("capacity"),
        tags={k: row[k] for k in REQUIRED_TAGS if row.get(k) is not None},
        job_queue=row.get("job_queue"), vcpus=row.get("vcpus"), memory_mib=row.get("memory_mib"),
    )


# A status row's own values, in the order ``_fold_rows`` takes them.
ROW_VALUES = ("status", "status_at", "status_reason", "exit_code", "started_at", "stopped_at",
              "instance_id", "instance_type")


def history_from_rows(rows: Iterable[Mapping[str, Any]]) -> AttemptHistory | None:
    """Rebuild one job's history from its ``job_attempts`` rows (any order).

    The history ``apply`` folds from the rows one by one, folded in one mutable state instead
    (a batch rebuilds thousands: a new frozen history per row was most of the cost). Rows
    ``apply`` would refuse (an unknown status, another job) go through ``apply``, which says
    why.
    """
    rows = list(rows)
    if not rows:
        return None
    job_id = rows[0]["job_id"]
    if any(r["status"] not in RANK or r["job_id"] != job_id for r in rows):
        return _applied(rows)
    return _fold_rows(job_id, rows[0].get("job_name") or "", context_from_row(rows[0]),
                      [tuple(r.get(n) for n in ROW_VALUES) for r in rows])


def histories_from_columns(
    columns: Mapping[str, list[Any]],
) -> list[tuple[AttemptHistory, AttemptContext, int]]:
    """``history_from_rows`` of every job in ``job_attempts`` rows held as columns (a
    batch's lake read: thousands of jobs, no dict per row). Per job, in order of first row:
    its history, the context of its SUBMITTED row (else its first), and its first row's
    index."""
    rows_of: dict[str, list[int]] = {}
    for i, job_id in enumerate(columns["job_id"]):
        rows_of.setdefault(job_id, []).append(i)
    absent = [None] * len(columns["job_id"])
    own = list(zip(*(columns.get(n, absent) for n in ROW_VALUES), strict=True))  # per row
    statuses = columns["status"]
    context_at = _contexts(columns)
    out = []
    for job_id, index in rows_of.items():
        first = index[0]
        history_ctx = None
        if any(statuses[i] not in RANK for i in index):
            history = _applied([{n: c[i] for n, c in columns.items()} for i in index])
        else:
            history_ctx = context_at(first)
            history = _fold_rows(job_id, columns["job_name"][first] or "", history_ctx,
                                 [own[i] for i in index])
        sub = next((i for i in index if statuses[i] == "SUBMITTED"), first)
        ctx = history_ctx if sub == first and history_ctx is not None else context_at(sub)
        out.append((history, ctx, first))
    return out


def _contexts(columns: Mapping[str, list[Any]]) -> Callable[[int], AttemptContext]:
    """``context_from_row`` of row ``i`` of ``columns``, without making the row (each column
    looked up once, not once per row)."""
    absent = [None] * len(columns["job_id"])
    attempt, capacity, queue, vcpus, memory = (
        columns.get(n, absent) for n in ("attempt", "capacity", "job_queue", "vcpus",
                                          "memory_mib"))
    tags = [(k, columns[k]) for k in REQUIRED_TAGS if k in columns]

    def context(i: int) -> AttemptContext:
        return AttemptContext(
            attempt=int(attempt[i]), capacity=capacity[i],
            tags={k: v for k, column in tags if (v := column[i]) is not None},
            job_queue=queue[i], vcpus=vcpus[i], memory_mib=memory[i])

    return context


def _fold_rows(job_id: str, job_name: str, first: AttemptContext,
               rows: Iterable[tuple[Any, ...]]) -> AttemptHistory:
    """The history ``apply`` folds from one job's status rows (``ROW_VALUES`` tuples, each
    status known), in one mutable state."""
    statuses: set[str] = set()
    times: dict[str, datetime] = {}
    sources: dict[str, str] = {}
    got: dict[str, Any] = {"status": None, "status_at": None, "status_reason": None,
                           "exit_code": None, "started_at": None, "stopped_at": None,
                           "instance_id": None, "instance_type": None}
    for status, at, reason, exit_code, started, stopped, instance_id, instance_type in rows:
        current = got["status"]
        terminal = current in TERMINAL_STATES
        if status in statuses or (terminal and status in TERMINAL_STATES):
            continue  # recorded already, or a terminal state contradicting the first one
        at = _utc(at)
        statuses.add(status)
        times[status] = at
        started, stopped = _utc(started), _utc(stopped)
        if started and (got["started_at"] is None or started < got["started_at"]):
            got["started_at"] = started
        if stopped and (got["stopped_at"] is None or stopped > got["stopped_at"]):
            got["stopped_at"] = stopped
        for name, value in (("instance_id", instance_id), ("instance_type", instance_type)):
            source = sources.get(name)
            if value and (source is None or RANK[status] > RANK[source]):
                got[name] = value
                sources[name] = status
        if not terminal and (current is None or RANK[status] > RANK[current]):
            got["status"], got["status_at"] = status, at
            if status in TERMINAL_STATES:
                got["status_reason"], got["exit_code"] = reason, exit_code
    return AttemptHistory(
        job_id=job_id, job_name=job_name, attempt=first.attempt,
        capacity=first.capacity, tags=dict(first.tags), job_queue=first.job_queue,
        vcpus=first.vcpus, memory_mib=first.memory_mib, statuses=frozenset(statuses),
        instance_from=sources, times=times, **got)


def _applied(rows: Iterable[Mapping[str, Any]]) -> AttemptHistory | None:
    """``history_from_rows`` by ``apply``, row by row (its errors raised as they come)."""
    history = None
    for row in rows:
        history, _ = apply(history, change_from_row(row), context_from_row(row))
    return history


# -- run-level rules the Runner applies ---------------------------------------------------------
FINAL_RUN_STATUSES = frozenset({"SUCCEEDED", "FAILED"})


def run_is_final(run_statuses: Iterable[str]) -> bool:
    return bool(FINAL_RUN_STATUSES & set(run_statuses))


def adoption_refusal(run_id: str, run_statuses: Iterable[str], attempt: int,
                     known_attempts: Iterable[int]) -> str | None:
    """Why a job named ``<run>-a<N>`` that this runner has no record of is not taken as attempt
    N of the run, or None to adopt it (a job submitted whose record was lost: the write after
    the submit failed). Only the next attempt of an open run can be such a job."""
    statuses = set(run_statuses)
    if run_is_final(statuses):
        final = sorted(FINAL_RUN_STATUSES & statuses)[0]
        return (f"run {run_id} is finished ({final}); a job it did not submit cannot be one of "
                "its attempts")
    expected = max(known_attempts, default=0) + 1
    if attempt != expected:
        return (f"attempt {attempt} of run {run_id} was never submitted (the next attempt would "
                f"be {expected})")
    return None
