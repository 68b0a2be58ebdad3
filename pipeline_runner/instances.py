"""EC2 instance lifetimes, from the instance's state changes: the window AWS bills it for.

EC2 bills an instance per second from when it enters ``running`` until it enters
``shutting-down`` (the EC2 User Guide's instance-state table: pending, shutting-down and
terminated are not billed; Linux On-Demand and Spot, 60 s minimum). An AWS Batch managed
compute environment launches an instance when a job needs one and terminates it once it has
sat idle (Batch's scale-down), so an instance's life is longer than its jobs' containers.

Rows are the lake's ``instances`` rows (one per instance and state, any order, repeats allowed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

BILLED_FROM = ("running", "pending")  # running; LaunchTime (pending) when no running is known
BILLED_UNTIL = ("shutting-down", "terminated", "stopping", "stopped")
STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")


@dataclass(frozen=True, slots=True)
class InstanceLife:
    """One instance: what it was and when it was billed (``ended_at`` None: still running)."""

    instance_id: str
    instance_type: str | None
    capacity: str | None
    availability_zone: str | None
    launched_at: datetime | None
    ended_at: datetime | None

    @property
    def known(self) -> bool:
        """Both ends are known: the instance's whole bill can be estimated."""
        return self.launched_at is not None and self.ended_at is not None


def instance_lives(rows: Iterable[Mapping[str, Any]]) -> dict[str, InstanceLife]:
    """Each instance's life from its state rows, whatever their order or repeats."""
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_id.setdefault(r["instance_id"], []).append(r)
    return {i: _life(i, rs) for i, rs in by_id.items()}


def still_open(rows: Iterable[Mapping[str, Any]]) -> dict[str, datetime]:
    """Instance id -> launch time of the instances of ``rows`` launched and not ended (their
    termination is still to come, or was lost with a killed process)."""
    return {i: life.launched_at for i, life in instance_lives(rows).items()
            if life.ended_at is None and life.launched_at is not None}


def _life(instance_id: str, rows: list[Mapping[str, Any]]) -> InstanceLife:
    def first(states: tuple[str, ...]) -> datetime | None:
        for state in states:  # in order of preference
            times = [r["state_at"] for r in rows if r["state"] == state]
            if times:
                return min(times)
        return None

    def attr(name: str) -> Any:
        return next((r[name] for r in rows if r.get(name)), None)

    ends = [r["state_at"] for r in rows if r["state"] in BILLED_UNTIL]
    return InstanceLife(
        instance_id=instance_id,
        instance_type=attr("instance_type"),
        capacity=attr("capacity"),
        availability_zone=attr("availability_zone"),
        launched_at=first(BILLED_FROM),
        ended_at=min(ends) if ends else None,
    )


def sole_tenants(
    attempts: Iterable[tuple[str, int, str | None]], lives: Mapping[str, InstanceLife]
) -> dict[tuple[str, int], InstanceLife]:
    """The attempts that were the only job on their instance, with that instance's life.

    ``attempts`` are (job_id, attempt, instance_id) of every attempt known to have run on the
    instances of ``lives``. An instance that ran two or more attempts was shared: its attempts
    keep their packing shares and its idle time is unused capacity.
    """
    on: dict[str, list[tuple[str, int]]] = {}
    for job_id, attempt, instance_id in attempts:
        if instance_id:
            on.setdefault(instance_id, [])
            if (job_id, attempt) not in on[instance_id]:
                on[instance_id].append((job_id, attempt))
    return {
        tenants[0]: lives[i] for i, tenants in on.items() if len(tenants) == 1 and i in lives
    }
