"""The retry policy: after each finished attempt, complete, retry, move to On-Demand or give up.

Pure functions of the run's attempts so far, the limits in the configuration and the run's
estimated spend. Every decision carries a failure kind and a reason a person can read, and
becomes a row of the ``decisions`` table.

Rules, in order:
1. success -> ``complete``;
2. an application error (the container exited non-zero, not because its host went away) is
   deterministic: the same input fails the same way -> ``give_up``, never retried. So is a job
   that ran past its timeout (it hung or the input is pathological);
3. at the attempt limit -> ``give_up``;
4. at or over the run's spend cap -> ``give_up``;
5. a Spot reclaim -> ``retry`` on Spot until ``max_spot_attempts`` reclaims, then
   ``retry_on_demand``. A reclaim is ``Host EC2 (instance i-…) terminated.`` anywhere in the
   reasons (any case: the job-level reason may be "Essential container in task exited" while
   the attempt's names the host), with exit code 143, 137 or none:
   - 143 (128 + SIGTERM): the container stopped on the SIGTERM ECS sends when the host drains;
   - 137 (128 + SIGKILL): ECS sends SIGKILL when the container has not exited 30 s after the
     SIGTERM (ECS StopTask and ``stopTimeout`` docs; ``ECS_CONTAINER_STOP_TIMEOUT``), which a
     DRAGEN job busy writing its outputs often does not: the host going away is still the
     cause, so it is a reclaim. AWS Batch's own best practice retries on
     ``onStatusReason: "Host EC2*"`` with no exit-code condition (AWS Batch user guide,
     best-practices); Seqera's Spot docs show the reason with 143 or no exit code;
   - none: the container was never inspected (the host was gone first).
   137 without the host message is an out-of-memory kill or the job's own doing: rule 2.
6. a job cancelled for lack of capacity (the queue's RUNNABLE time limit: ``Canceled by
   JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY``): on Spot
   -> ``retry_on_demand`` (it already waited the Spot queue's limit, so a Spot loss like a
   reclaim past its tolerance); on On-Demand -> ``give_up``, a decision with the fix in its
   reason (the account's F-instance quota or the instance types), not an endless wait;
7. an infrastructure error with no exit code (CannotPullContainerError,
   CannotInspectContainerError, ResourceInitializationError, a host lost on On-Demand, …) is
   transient -> ``retry`` on the same capacity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline_runner.records import REQUIRED_TAGS

if TYPE_CHECKING:  # only for annotations: policy needs the limits, not the workflows
    from pipeline_runner.workflows import RunnerConfig



_HOST_TERMINATED = re.compile(r"host ec2 \(instance [^)]*\) terminated", re.IGNORECASE)
SIGTERM_EXIT = 143  # 128 + SIGTERM: the container stopped when its host was drained
SIGKILL_EXIT = 137  # 128 + SIGKILL: it had not stopped 30 s later (ECS stop timeout)
RECLAIM_EXITS = (None, SIGTERM_EXIT, SIGKILL_EXIT)
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
# What Batch puts in statusReason when a queue's RUNNABLE time limit cancels a job Batch could
# not place for lack of instances ("Canceled by JobStateTimeLimit action due to reason: …").
CAPACITY_REASON = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """One finished (or still open) attempt, as the policy needs it."""

    job_id: str
    attempt: int
    capacity: str  # spot | on-demand
    status: str
    status_reason: str | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    instance_type: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after an attempt, and why."""

    job_id: str
    attempt: int
    action: str  # complete | retry | retry_on_demand | give_up
    failure_kind: str  # see failure_kind()
    reason: str
    next_capacity: str | None = None  # for retries

    @property
    def retries(self) -> bool:
        return self.action in ("retry", "retry_on_demand")

    def row(self, tags: Mapping[str, str], decided_at: datetime) -> dict[str, Any]:
        """The ``decisions`` table row for this decision."""
        return {
            **{k: tags.get(k) for k in REQUIRED_TAGS},
            "job_id": self.job_id,
            "attempt": self.attempt,
            "decided_at": decided_at,
            "failure_kind": self.failure_kind,
            "action": self.action,
            "next_capacity": self.next_capacity,
            "reason": self.reason,
        }


def host_terminated(reason: str | None) -> bool:
    """Whether Batch's reasons say the job's EC2 host was terminated (anywhere, any case)."""
    return bool(reason and _HOST_TERMINATED.search(reason))


def reclaim_exit(exit_code: int | None) -> bool:
    """Whether an exit code fits a host taken away: none, 143 (SIGTERM) or 137 (SIGKILL)."""
    return exit_code in RECLAIM_EXITS


def failure_kind(outcome: AttemptOutcome) -> str:
    """Why an attempt ended: none, spot_reclaim, capacity, application_error, infrastructure or
    timeout."""
    if outcome.status == "SUCCEEDED":
        return "none"
    reason = outcome.status_reason or ""
    if CAPACITY_REASON in reason and outcome.exit_code is None:
        return "capacity"  # never started: no instance could be had
    if host_terminated(reason) and reclaim_exit(outcome.exit_code):
        # On On-Demand capacity the same message means the host failed or was retired.
        return "spot_reclaim" if outcome.capacity == "spot" else "infrastructure"
    if TIMEOUT_REASON.lower() in reason.lower():
        return "timeout"
    if outcome.exit_code is not None and outcome.exit_code != 0:
        return "application_error"
    return "infrastructure"


def _describe(outcome: AttemptOutcome) -> str:
    code = "no exit code" if outcome.exit_code is None else f"exit code {outcome.exit_code}"
    reason = outcome.status_reason or "no status reason"
    return (f"attempt {outcome.attempt} ({outcome.capacity}) {outcome.status.lower()}: "
            f"{reason} ({code})")


def decide(attempts_so_far: Sequence[AttemptOutcome], config: RunnerConfig,
           spent_usd: float | Callable[[], float] = 0.0) -> Decision:
    """Decide on the run's latest attempt (the last of ``attempts_so_far``, in attempt order).

    ``spent_usd`` is the run's estimated spend so far, compared with ``config.spend_cap_usd``,
    or a function giving it: called only when a retry would otherwise follow (pricing every
    attempt of the run is the dearest part of a decision, and most decisions do not need it).
    """
    if not attempts_so_far:
        raise ValueError("decide needs at least one attempt")
    last = attempts_so_far[-1]
    kind = failure_kind(last)
    what = _describe(last)

    def decision(action: str, reason: str, next_capacity: str | None = None) -> Decision:
        return Decision(last.job_id, last.attempt, action, kind, reason, next_capacity)

    if kind == "none":
        return decision("complete", f"attempt {last.attempt} ({last.capacity}) succeeded")
    if kind == "application_error":
        return decision("give_up", f"{what}: an application error is deterministic; the same "
                                   "input would fail the same way, so it is not retried")
    if kind == "timeout":
        return decision("give_up", f"{what}: the job ran past its timeout; not retried "
                                   "automatically (it hung or the input needs a look)")
    if len(attempts_so_far) >= config.max_attempts:
        return decision("give_up", f"{what}: {len(attempts_so_far)} of {config.max_attempts} "
                                   "attempts used")
    cap = config.spend_cap_usd
    spent = spent_usd() if cap is not None and callable(spent_usd) else spent_usd
    if cap is not None and spent >= cap:
        return decision("give_up", f"{what}: estimated spend ${spent:,.2f} reached the run's "
                                   f"cap of ${cap:,.2f}")
    if kind == "spot_reclaim":
        reclaims = sum(1 for a in attempts_so_far if failure_kind(a) == "spot_reclaim")
        if reclaims < config.max_spot_attempts:
            return decision("retry", f"{what}: Spot reclaim {reclaims} of "
                                     f"{config.max_spot_attempts} tolerated; retrying on Spot",
                            "spot")
        return decision("retry_on_demand",
                        f"{what}: Spot reclaimed {reclaims} time(s) (limit "
                        f"{config.max_spot_attempts}); moving to On-Demand", "on-demand")
    if kind == "capacity":
        if last.capacity == "spot":
            return decision("retry_on_demand", f"{what}: no Spot capacity within the queue's "
                                               "RUNNABLE time limit; moving to On-Demand",
                            "on-demand")
        return decision("give_up", f"{what}: no On-Demand capacity within the queue's RUNNABLE "
                                   "time limit; raise the account's On-Demand F-instance vCPU "
                                   "quota or widen DragenInstanceTypes, then resubmit the run")
    return decision("retry", f"{what}: infrastructure error, transient; retrying on "
                             f"{last.capacity}", last.capacity)
