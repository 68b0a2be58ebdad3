"""Job-state changes as columns: the Arrow form of ``JobStateChange`` for batch tracking.

A replay or a backfill tracks thousands of changes at once; held as one Arrow table they are
sorted, deduplicated and turned into ``job_attempts`` rows without a Python object per change
(``Runner.on_job_state_columns``). Only the tags the runner reads travel (``EVENT_TAGS``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline_runner.arrow_values import values
from pipeline_runner.attempts import RANK, AttemptHistory, evolved
from pipeline_runner.records import REQUIRED_TAGS, TERMINAL_STATES, JobStateChange

# The tags a lake row or the runner reads from an event (attempt rows, adoption, run lookup).
EVENT_TAGS = tuple(dict.fromkeys((*REQUIRED_TAGS, "run_id")))
SEQ_STRIDE = 1 << 20  # changes one payload may hold: seq = payload index * stride + position
_TS = pa.timestamp("us", tz="UTC")
CHANGE_FIELDS = ("job_id", "job_name", "status", "status_at", "job_queue", "status_reason",
                 "exit_code", "attempt_count", "started_at", "stopped_at", "instance_id",
                 "instance_type", "event_id", "vcpus", "memory_mib", "container_instance_arn")
CHANGE_SCHEMA = pa.schema([
    ("seq", pa.int64()),  # delivery order, the tie-break of equal times
    ("job_id", pa.string()), ("job_name", pa.string()), ("status", pa.string()),
    ("status_at", _TS), ("job_queue", pa.string()), ("status_reason", pa.string()),
    ("exit_code", pa.int32()), ("attempt_count", pa.int32()), ("started_at", _TS),
    ("stopped_at", _TS), ("instance_id", pa.string()), ("instance_type", pa.string()),
    ("event_id", pa.string()), ("vcpus", pa.int32()), ("memory_mib", pa.int32()),
    ("container_instance_arn", pa.string()),
    *((f"tag_{t}", pa.string()) for t in EVENT_TAGS),
])


def changes_to_table(changes: Sequence[JobStateChange], seqs: Sequence[int]) -> pa.Table:
    """``changes`` as a table of ``CHANGE_SCHEMA``; ``seqs`` their delivery order."""
    columns: dict[str, list] = {"seq": list(seqs)}
    for name in CHANGE_FIELDS:
        columns[name] = [getattr(c, name) for c in changes]
    for t in EVENT_TAGS:
        columns[f"tag_{t}"] = [c.tags.get(t) for c in changes]
    return pa.Table.from_pydict(columns, schema=CHANGE_SCHEMA)


def changes_from_table(tbl: pa.Table) -> list[JobStateChange]:
    """The rows of a ``CHANGE_SCHEMA`` table as ``JobStateChange`` values, in row order."""
    cols = [values(tbl.column(n)) for n in CHANGE_FIELDS]
    tags = [tbl.column(f"tag_{t}").to_pylist() for t in EVENT_TAGS]
    # positionally (a batch makes thousands): the fields before ``tags``, tags, the rest
    cut = _FIELDS.index("tags")
    out = []
    for row, held in zip(zip(*cols, strict=True), zip(*tags, strict=True), strict=True):
        found = {t: v for t, v in zip(EVENT_TAGS, held, strict=True) if v is not None}
        out.append(JobStateChange(*row[:cut], found, *row[cut:]))
    return out


# JobStateChange's fields in order: CHANGE_FIELDS with ``tags`` in its place
_FIELDS = tuple(f.name for f in fields(JobStateChange))
assert tuple(n for n in _FIELDS if n != "tags") == CHANGE_FIELDS


@dataclass
class FastPlan:
    """What the columnar part of tracking did: rows, histories, runs now running, and the
    changes (row indexes, in order) left to the row loop."""

    rows: pa.Table | None
    histories: dict[str, AttemptHistory]
    running: dict[str, datetime]  # run id -> when it started running
    slow: list[int]


def fast_changes(
    changes: pa.Table,
    histories: Mapping[str, AttemptHistory],
    job_run: Mapping[str, str],
    runs: Mapping[str, Any],
    run_id_of: Callable[[JobStateChange], str | None],
) -> FastPlan:
    """Split ``changes`` (sorted by time, then delivery) into the columnar part and the rest.

    A change is columnar when its job is known with a history that is not terminal, its status
    is not terminal, and no earlier change of its run went to the row loop (from the first
    such change on, a run's changes all go there, so each run sees its changes in order). The
    columnar changes make exactly the rows and history updates ``attempts.apply`` would: a
    status already recorded adds nothing; a new one adds a row made of the attempt's
    submission values and the event's own.
    """
    job_ids = changes.column("job_id").to_pylist()
    statuses = changes.column("status").to_pylist()
    slow_runs: set[str] = set()
    checked: set[str] = set()
    # per job, once: its run, whether its attempt is open, the statuses it has (and will have)
    jobs: dict[str, tuple[str | None, bool, set[str]]] = {}
    slow: list[int] = []
    new: list[int] = []
    names = tags = None
    for i, (job_id, status) in enumerate(zip(job_ids, statuses, strict=True)):
        job = jobs.get(job_id)
        if job is None:
            run_id = job_run.get(job_id)
            history = histories.get(job_id)
            if run_id is not None and run_id not in checked:
                checked.add(run_id)
                if _running_unrecorded(runs[run_id], histories):
                    slow_runs.add(run_id)
            job = jobs[job_id] = (run_id, history is not None and not history.is_terminal,
                                  set(history.statuses) if history is not None else set())
        run_id, open_attempt, known = job
        if run_id is None or not open_attempt or run_id in slow_runs or status not in _MOVING:
            if run_id is None:  # a job the row loop may adopt into the run its name gives
                names = names or changes.column("job_name").to_pylist()
                tags = tags or changes.column("tag_run_id").to_pylist()
                run_id = run_id_of(JobStateChange(job_id, names[i] or "", status, _EPOCH,
                                                  tags={"run_id": tags[i]}
                                                  if tags[i] is not None else {}))
            if run_id is not None:
                slow_runs.add(run_id)
            slow.append(i)
            continue
        if status not in known:
            known.add(status)
            new.append(i)
    if not new:
        return FastPlan(None, {}, {}, slow)
    # only the columns a row or a history takes from the event (the tags are the attempt's)
    picked = changes.select(_PICKED).take(pa.array(new, pa.int64()))
    cols = {n: values(picked.column(n)) for n in
            ("job_id", "status", "status_at", "started_at", "stopped_at", "instance_id",
             "instance_type")}
    folds: dict[str, dict[str, Any]] = {}
    running: dict[str, datetime] = {}
    for job_id, status, at, started, stopped, instance_id, instance_type in zip(
            *cols.values(), strict=True):
        fold = folds.get(job_id)
        if fold is None:
            fold = folds[job_id] = _state(histories[job_id])
        at = _utc(at)
        _fold(fold, status, at, _utc(started), _utc(stopped), instance_id, instance_type)
        run_id = job_run[job_id]
        if status == "RUNNING" and run_id not in running and \
                "RUNNING" not in runs[run_id].statuses:
            running[run_id] = at
    updated = {j: evolved(histories[j], {**f, "statuses": frozenset(f["statuses"])})
               for j, f in folds.items()}
    return FastPlan(_attempt_rows(picked, cols["job_id"], histories), updated, running, slow)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PICKED = ["job_id", "status", "status_at", "status_reason", "exit_code", "instance_type",
           "instance_id", "started_at", "stopped_at", "event_id"]
# the statuses the columnar part records: known, and not finishing the attempt
_MOVING = frozenset(s for s in RANK if s not in TERMINAL_STATES)


def runs_to_load(
    changes: pa.Table, known: Container[str], months_of: Callable[[datetime], list[str]]
) -> tuple[set[str], set[str], list[str]]:
    """What ``Runner._prepare`` reads for the changes whose job is not ``known``: the run ids
    their events give (``run_id`` tag, else the job's name), the jobs that give none, and the
    months (``months_of`` each change's day) to look in. Computed per distinct job and day,
    not per change."""
    import pyarrow.compute as pc

    from pipeline_runner.workflows import parse_job_name

    jobs = changes.column("job_id")
    unknown = [j for j in pc.unique(jobs).to_pylist() if j not in known]
    if not unknown:
        return set(), set(), []
    picked = changes.filter(pc.is_in(jobs, pa.array(unknown, pa.string())))
    keys = picked.group_by(["job_id", "job_name", "tag_run_id"], use_threads=False) \
        .aggregate([])
    run_ids: set[str] = set()
    anonymous: set[str] = set()
    for job_id, name, tag in zip(*(keys.column(n).to_pylist() for n in
                                   ("job_id", "job_name", "tag_run_id")), strict=True):
        parsed = parse_job_name(name or "")
        run_id = tag or (parsed[0] if parsed else None)
        if run_id:
            run_ids.add(run_id)
        else:
            anonymous.add(job_id)
    # a month's lookback depends on the day only (whole days back), so distinct days suffice
    days = pc.unique(pc.cast(picked.column("status_at"), pa.date32())).to_pylist()
    months = sorted({m for d in days for m in months_of(datetime(d.year, d.month, d.day,
                                                                 tzinfo=UTC))})
    return run_ids, anonymous, months


def _running_unrecorded(run: Any, histories: Mapping[str, AttemptHistory]) -> bool:
    """A run whose attempt is recorded RUNNING without the run's own RUNNING row (a crash
    between the two writes): the row loop writes that row on the run's next change."""
    return "RUNNING" not in run.statuses and any(
        "RUNNING" in histories[j].statuses for j in run.jobs.values() if j in histories)


def _state(history: AttemptHistory) -> dict[str, Any]:
    """The fields of a history that a non-terminal change updates, to fold changes into."""
    return {"statuses": set(history.statuses), "times": dict(history.times),
            "started_at": history.started_at, "stopped_at": history.stopped_at,
            "instance_id": history.instance_id, "instance_type": history.instance_type,
            "instance_from": dict(history.instance_from), "status": history.status,
            "status_at": history.status_at}


def _fold(state: dict[str, Any], status: str, at: datetime, started: datetime | None,
          stopped: datetime | None, instance_id: str | None, instance_type: str | None) -> None:
    """``attempts.apply`` of a new, non-terminal status to an unfinished attempt, in place:
    each job's history is rebuilt once per batch, not once per change."""
    state["statuses"].add(status)
    state["times"][status] = at
    if started and (state["started_at"] is None or started < state["started_at"]):
        state["started_at"] = started
    if stopped and (state["stopped_at"] is None or stopped > state["stopped_at"]):
        state["stopped_at"] = stopped
    sources = state["instance_from"]
    for name, value in (("instance_id", instance_id), ("instance_type", instance_type)):
        source = sources.get(name)
        if value and (source is None or RANK[status] > RANK[source]):
            state[name] = value
            sources[name] = status
    if state["status"] is None or RANK[status] > RANK[state["status"]]:
        state["status"], state["status_at"] = status, at


def _utc(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.astimezone(UTC)


def _attempt_rows(picked: pa.Table, job_ids: list[str],
                  histories: Mapping[str, AttemptHistory]) -> pa.Table:
    """``job_attempts`` rows: the attempt's submission values beside the event's own. The
    submission values are made once per job and repeated by ``take`` (a job has several new
    statuses in a batch)."""
    jobs = list(dict.fromkeys(job_ids))
    position = {j: k for k, j in enumerate(jobs)}
    index = pa.array([position[j] for j in job_ids], pa.int64())
    held = [histories[j] for j in jobs]
    per_job: dict[str, list] = {t: [h.tags.get(t) for h in held] for t in REQUIRED_TAGS}
    for name in ("job_id", "job_name", "attempt", "job_queue", "capacity", "vcpus",
                 "memory_mib"):
        per_job[name] = [getattr(h, name) for h in held]
    out: dict[str, Any] = {name: pa.array(v).take(index) for name, v in per_job.items()}
    for name in ("status", "status_at", "status_reason", "exit_code", "instance_type",
                 "instance_id", "started_at", "stopped_at", "event_id"):
        out[name] = picked.column(name)
    return pa.table(out)
