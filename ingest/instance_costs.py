"""Compute restated once an instance's life is known: whole instance for a job alone on it.

When an instance's termination arrives (or a run finishes on an instance whose life is already
known), every attempt that ran on it is priced again from the lake: an attempt that was the
instance's only job pays the whole instance from launch to termination (its container window
at share 1, plus boot and idle rows); attempts that shared it keep their packing shares.

The rows are a function of what the lake holds, so a replayed, duplicated or out-of-order event
computes the same rows, and the same rows write nothing (``costs`` is versioned by content).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from lake.schemas import table as lake_table
from lake.store import LakeStore, latest_by_key
from pipeline_runner.cost import AttemptUsage, instance_compute_rows
from pipeline_runner.instances import instance_lives, sole_tenants
from pipeline_runner.prices import PriceBook


@dataclass(frozen=True, slots=True)
class Restated:
    instances: int  # instances whose life is known
    attempts: int  # attempts priced again
    sole: int  # of which alone on their instance
    rows_written: int  # new cost rows (0: nothing changed)


def new_instance_rows(store: LakeStore, rows: list[dict[str, Any]],
                      months: Iterable[str] | None) -> list[dict[str, Any]]:
    """The ``instances`` rows the lake does not hold yet as they are (a replayed event adds
    no file)."""
    fields = [f.name for f in lake_table("instances").schema
              if f.name not in ("recorded_at", "schema_version")]
    held = {tuple(r.get(f) for f in fields)
            for r in _rows(store, "instances", "instance_id",
                           sorted({r["instance_id"] for r in rows}), months, latest=False)}
    out, seen = [], set()
    for r in rows:
        values = tuple(r.get(f) for f in fields)
        if values not in held and values not in seen:
            seen.add(values)
            out.append(r)
    return out


def _rows(store: LakeStore, name: str, column: str, ids: list[str],
          months: Iterable[str] | None, latest: bool = True) -> list[dict[str, Any]]:
    files = store.files(name, months)
    if not files or not ids:
        return []
    spec = lake_table(name)
    dataset = ds.dataset(files, schema=spec.schema, format="parquet", filesystem=store.fs)
    wanted = pc.field(column).isin(pa.array(sorted(ids), pa.string()))
    rows = dataset.to_table(filter=wanted)
    return (latest_by_key(rows, spec) if latest else rows).to_pylist()


def restate_instances(
    store: LakeStore,
    instance_ids: Iterable[str],
    prices: PriceBook,
    months: Iterable[str] | None = None,
    recorded_at: datetime | None = None,
) -> Restated:
    """Price again the compute of every finished attempt on ``instance_ids`` whose instance's
    launch and termination are both known; ``months`` bounds the partitions read."""
    ids = sorted({i for i in instance_ids if i})
    months = list(months) if months is not None else None
    lives = {i: life for i, life in instance_lives(
        _rows(store, "instances", "instance_id", ids, months)).items() if life.known}
    if not lives:
        return Restated(0, 0, 0, 0)
    by_attempt: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in _rows(store, "job_attempts", "instance_id", sorted(lives), months):
        by_attempt.setdefault((r["job_id"], int(r["attempt"])), []).append(r)
    # every state row of those attempts (only some rows carry the instance id)
    all_rows = _rows(store, "job_attempts", "job_id", sorted({j for j, _ in by_attempt}), months)
    for r in all_rows:
        key = (r["job_id"], int(r["attempt"]))
        if key in by_attempt and r not in by_attempt[key]:
            by_attempt[key].append(r)
    usages = [AttemptUsage.from_attempt_rows(rows, licensed=False)
              for rows in by_attempt.values()]
    sole = sole_tenants(((u.job_id, u.attempt, u.instance_id) for u in usages), lives)
    out, n, n_sole = [], 0, 0
    for u in usages:
        if u.instance_id not in lives or u.started_at is None or u.stopped_at is None:
            continue  # still running: priced when it finishes
        n += 1
        n_sole += (u.job_id, u.attempt) in sole
        out += instance_compute_rows(u, prices, lives[u.instance_id], (u.job_id, u.attempt) in sole)
    written = store.write("costs", out, recorded_at).rows_written if out else 0
    return Restated(len(lives), n, n_sole, written)
