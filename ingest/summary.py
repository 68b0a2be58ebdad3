"""What a run of event processing did, in the words an operator uses, and its exit status.

``seqledger ingest event`` processes its files and then follows the jobs it dispatched, so one
command is several ``EventOutcome``s; ``EventSummary.add`` folds them, ``lines`` says what
happened and ``exit_code`` says whether everything was handled:

* 0 — every object and event was handled: recorded, dispatched, waiting for a mate, or recorded
  as a non-input (checksums, READMEs, index files, sample sheets); Batch events for jobs that are
  not ours, or that contradict a recorded final state, are recorded and ignored;
* 1 — something could not be processed: an event file that cannot be read or is not an event, an
  object meant as an input that cannot be one, a run whose dispatch was refused;
* 75 (EX_TEMPFAIL, as ``lake compact`` when it skips a busy partition) — a transient error left
  part of the work undone: run the same files again later (nothing is done twice). It wins over
  1: the next run does what was deferred, and then says 1 if inputs are still refused.

Usage errors (a missing file, a bad option) exit 2 before anything is processed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.service import EventOutcome

# quarantine stages that mean "this input could not be processed" (the others, such as a job
# event for someone else's job, are recorded and handled)
PROBLEM_STAGES = frozenset({"ingest.event", "ingest.classify", "dispatch"})
OK, PROBLEMS, USAGE, TEMPFAIL = 0, 1, 2, 75


@dataclass
class EventSummary:
    """The sum of several ``EventOutcome``s. The lists it prints are sorted: the same report
    whatever the batches or the processes (``ingest.parallel``) that found them."""

    payloads: int = 0
    followed: int = 0  # job events of the simulated or local executor, followed to the end
    objects_new: set[str] = field(default_factory=set)
    objects_known: set[str] = field(default_factory=set)
    non_inputs: dict[str, str] = field(default_factory=dict)
    dispatched: dict[str, str] = field(default_factory=dict)  # run id -> project/sample
    waiting: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sample -> missing
    retried: Counter = field(default_factory=Counter)  # capacity -> attempts submitted
    finished: dict[str, str] = field(default_factory=dict)  # run id -> sample
    given_up: dict[str, str] = field(default_factory=dict)  # run id -> why
    job_events: int = 0
    ignored: list[str] = field(default_factory=list)  # job events recorded and ignored, why
    problems: list[str] = field(default_factory=list)  # "<input>: <reason>"
    transient: list[str] = field(default_factory=list)

    def unreadable(self, path: str, reason: str) -> None:
        """An event file that could not be read at all (never quarantined: there is nothing)."""
        self.problems.append(f"{path}: cannot read: {reason}")

    def add(self, out: EventOutcome, followed: bool = False) -> None:
        """Fold one outcome in; ``followed`` when its payloads came from following the jobs."""
        if followed:
            self.followed += out.payloads
        else:
            self.payloads += out.payloads
        self.objects_known |= out.objects_known - self.objects_new
        self.objects_new |= out.objects_new
        self.non_inputs.update(out.non_inputs)
        for w in out.waiting:
            self.waiting[f"{w.label} ({w.input_kind})"] = w.missing
        samples = {**out.samples}
        for d in out.dispatched:
            if d.dispatched:
                self.dispatched[d.run_id] = samples.get(d.run_id, d.run_id)
        self._drop_dispatched_waiting()
        self.job_events += out.job_changes
        if out.track is not None:
            self.retried.update(s.capacity for s in out.track.submitted)
            self.ignored += [ig.reason for ig in out.track.ignored]
        runs = [*out.track.succeeded_runs, *out.track.failed_runs] if out.track else []
        for run in runs:
            if run.status == "SUCCEEDED":
                self.finished[run.run_id] = f"{run.project}/{run.sample_id}"
            else:
                self.given_up[run.run_id] = f"{run.project}/{run.sample_id}: {run.reason}"
        for q in out.quarantine:
            if q["stage"] in PROBLEM_STAGES:
                where = f"{q['source']}:{q['line']}" if q.get("line") else q["source"]
                reason = q["reason"]
                self.problems.append(reason if reason.startswith(f"{where}:") else
                                     f"{where}: {reason}")
        self.transient += out.transient

    def merge(self, other: EventSummary) -> None:
        """Fold in the summary of a later part of the same command (``ingest.parallel``: what
        a worker process did), as ``add`` folds an outcome."""
        self.payloads += other.payloads
        self.followed += other.followed
        self.objects_known |= other.objects_known - self.objects_new
        self.objects_new |= other.objects_new
        self.non_inputs.update(other.non_inputs)
        self.waiting.update(other.waiting)
        self.dispatched.update(other.dispatched)
        self._drop_dispatched_waiting()
        self.job_events += other.job_events
        self.retried.update(other.retried)
        self.ignored += other.ignored
        self.finished.update(other.finished)
        self.given_up.update(other.given_up)
        self.problems += other.problems
        self.transient += other.transient

    def _drop_dispatched_waiting(self) -> None:
        for label in list(self.waiting):
            if any(label.startswith(f"{s} (") for s in self.dispatched.values()):
                del self.waiting[label]  # completed by a later object of the same command

    @property
    def exit_code(self) -> int:
        if self.transient:
            return TEMPFAIL
        return PROBLEMS if self.problems else OK

    def lines(self) -> list[str]:
        """The report, one fact a line; details indented under their count."""
        out = [
            f"objects: {len(self.objects_new)} new, {len(self.objects_known)} already known "
            f"({self.payloads} event payloads)",
            f"non-inputs recorded: {len(self.non_inputs)}",
        ]
        reasons = Counter(self.non_inputs.values())
        out += [f"  {n} x {reason}" for reason, n in reasons.most_common(5)]
        out.append(f"samples dispatched: {len(self.dispatched)}")
        out += [f"  {sample} -> run {run}" for run, sample in sorted(self.dispatched.items(),
                                                                      key=lambda x: x[1])]
        out.append(f"samples waiting for a mate: {len(self.waiting)}")
        out += [f"  {sample}: missing {', '.join(missing)}"
                for sample, missing in sorted(self.waiting.items())]
        if self.job_events:
            followed = f"{self.followed} followed from the executor, " if self.followed else ""
            out.append(f"job-state events: {self.job_events} ({followed}{len(self.ignored)} "
                       "ignored: not our jobs, or contradicting a final state)")
        out.append(f"attempts retried: {self.retried['spot']} on Spot, "
                   f"{self.retried['on-demand']} on On-Demand")
        out.append(f"runs finished: {len(self.finished)}")
        out.append(f"runs given up: {len(self.given_up)}")
        out += [f"  {why}" for why in sorted(self.given_up.values())]
        out.append(f"inputs quarantined or refused: {len(self.problems)}")
        out += [f"  {p}" for p in sorted(self.problems)]
        if self.transient:
            out.append(f"transient errors (run the same files again): {len(self.transient)}")
            out += [f"  {t}" for t in sorted(self.transient)]
        return out
