"""Arrival rows, and which samples they make ready to analyse. Pure functions, no I/O.

An arrival is one object version (``object_uri`` + ``etag``) seen in the input location. The
service appends arrival rows to the lake and asks ``ready_samples`` over all rows of the
samples touched; each ready sample becomes one run whose ``run_id`` is derived from its inputs,
so the same inputs always name the same run: a redelivered event, a replayed batch or arrivals
in another order can never dispatch a second run.

Readiness:

* FASTQ and ORA are paired: a sample is ready when every lane seen has both R1 and R2, and as
  many R1 files as R2 files (Illumina may split a lane into chunks ``_001``, ``_002``…). Files
  without a lane form one group. A lane that has not arrived at all cannot be known from the
  keys alone: if L002 lands after L001 is complete, that is a new set of inputs and a new run.
* BAM and CRAM (re-analysis, re-calling) are ready on arrival.
* Sample sheets and unknown objects never dispatch.
* Inputs of different kinds of the same sample (FASTQ and CRAM) are separate runs.
* An object written again with new content (new ETag) replaces the old version in its sample.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.classify import classify
from ingest.records import Classified, ObjectCreated

INPUT_KINDS = ("fastq", "ora", "bam", "cram")
PAIRED_KINDS = frozenset({"fastq", "ora"})


@dataclass(frozen=True, slots=True)
class SampleInputs:
    """The complete inputs of one sample, of one kind: what one run analyses."""

    project: str | None
    sample_id: str
    input_kind: str  # "fastq" | "ora" | "bam" | "cram"
    # BAM/CRAM: the one file. FASTQ/ORA: R1, R2 of each pair, pairs in lane order (then chunk)
    input_uris: tuple[str, ...]
    input_size_bytes: int | None  # None when any input's size is unknown
    run_id: str
    ready_at: datetime | None = None  # when its last input arrived (the events' own clock)


def arrival_id(object_uri: str, etag: str) -> str:
    """The ``arrivals`` row id: a hash of the object version it records."""
    return hashlib.sha256(f"{object_uri}\x1f{etag}".encode()).hexdigest()[:32]


def arrival_row(obj: ObjectCreated, c: Classified) -> dict[str, Any]:
    """An ``arrivals`` table row for an object and its classification.

    When the event carries no ETag (the column is required and keys the row), the ETag is
    replaced by ``no-etag:size=<size>:at=<event time>``: it says it is not a content hash, and
    it is the same for every redelivery of the event, so duplicates still collapse.
    """
    # whole seconds: EventBridge stamps seconds, S3 notifications milliseconds; the same
    # object version must carry the same time whichever envelope delivered it
    at = obj.event_at.replace(microsecond=0)
    etag = obj.etag or f"no-etag:size={obj.size_bytes if obj.size_bytes is not None else '?'}" \
        f":at={at.isoformat()}"
    uri = obj.uri
    return {
        "arrival_id": arrival_id(uri, etag),
        "object_uri": uri,
        "bucket": obj.bucket,
        "object_key": obj.key,
        "etag": etag,
        "size_bytes": obj.size_bytes,
        "event_at": at,
        "event_id": obj.event_id,
        "envelope": obj.envelope,
        "input_kind": c.kind,
        "mate": c.mate,
        "project": c.project,
        "sample_id": c.sample_id,
        "reason": c.reason,
        "lane": c.lane,
    }


def run_id_for(sample_id: str, inputs: Iterable[tuple[str, str]]) -> str:
    """A short id that depends only on the sample and its (uri, etag) inputs, in any order."""
    text = sample_id + "\x1e" + "\x1e".join(f"{u}\x1f{e}" for u, e in sorted(set(inputs)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ready_samples(arrivals: Iterable[Mapping[str, Any]]) -> list[SampleInputs]:
    """The samples whose inputs are complete, one entry per (project, sample, input kind).

    Takes ``arrivals`` rows (as written, or read back from the lake; extra columns are ignored).
    Duplicates and arrival order do not change the result; the result is sorted.
    """
    current = _current_versions(arrivals)
    groups: dict[tuple[str | None, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in current:
        groups[(row.get("project"), row["sample_id"], row["input_kind"])].append(row)
    ready = []
    for (project, sample_id, kind), rows in groups.items():
        if kind in PAIRED_KINDS and not _pairs_complete(rows):
            continue
        sizes = [r.get("size_bytes") for r in rows]
        ready.append(SampleInputs(
            project=project,
            sample_id=sample_id,
            input_kind=kind,
            input_uris=_pair_order(rows) if kind in PAIRED_KINDS else
            tuple(sorted(r["object_uri"] for r in rows)),
            input_size_bytes=None if any(s is None for s in sizes) else sum(sizes),
            run_id=run_id_for(sample_id, ((r["object_uri"], r["etag"]) for r in rows)),
            ready_at=max(r["event_at"] for r in rows),
        ))
    return sorted(ready, key=lambda s: (s.project or "", s.sample_id, s.input_kind))


@dataclass(frozen=True, slots=True)
class WaitingSample:
    """A paired sample whose mates are not all there: what it waits for, lane by lane."""

    project: str | None
    sample_id: str
    input_kind: str
    missing: tuple[str, ...]  # "R2 of lane L002", "R1" (no lane in the names)

    @property
    def label(self) -> str:
        return f"{self.project}/{self.sample_id}" if self.project else self.sample_id


def waiting_samples(arrivals: Iterable[Mapping[str, Any]]) -> list[WaitingSample]:
    """The paired samples among ``arrivals`` rows that are not complete, and what is missing."""
    groups: dict[tuple[str | None, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in _current_versions(arrivals):
        if row["input_kind"] in PAIRED_KINDS:
            groups[(row.get("project"), row["sample_id"], row["input_kind"])].append(row)
    waiting = []
    for (project, sample_id, kind), rows in groups.items():
        counts: dict[str | None, dict[str, int]] = defaultdict(lambda: {"R1": 0, "R2": 0})
        for row in rows:
            if row.get("mate") in ("R1", "R2"):
                counts[_lane(row)][row["mate"]] += 1
        missing = []
        for lane in sorted(counts, key=lambda x: x or ""):
            c = counts[lane]
            for mate, other in (("R1", "R2"), ("R2", "R1")):
                gap = c[other] - c[mate]
                if gap > 0:
                    what = f"{gap} x {mate}" if gap > 1 else mate
                    missing.append(f"{what} of lane {lane}" if lane else what)
        if missing:
            waiting.append(WaitingSample(project, sample_id, kind, tuple(missing)))
    return sorted(waiting, key=lambda w: (w.project or "", w.sample_id, w.input_kind))


def _current_versions(arrivals: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Input rows, one per object: its latest version (then the largest ETag, so ties are
    decided the same way whatever the order)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in arrivals:
        if row.get("input_kind") not in INPUT_KINDS or not row.get("sample_id"):
            continue
        uri = row["object_uri"]
        held = latest.get(uri)
        if held is None or (row["event_at"], row["etag"]) > (held["event_at"], held["etag"]):
            latest[uri] = row
    return list(latest.values())


def _pairs_complete(rows: list[Mapping[str, Any]]) -> bool:
    counts: dict[str | None, dict[str, int]] = defaultdict(lambda: {"R1": 0, "R2": 0})
    for row in rows:
        mate = row.get("mate")
        if mate not in ("R1", "R2"):
            return False  # a paired input we cannot pair: never guess
        counts[_lane(row)][mate] += 1
    return all(c["R1"] == c["R2"] >= 1 for c in counts.values())


def _pair_order(rows: list[Mapping[str, Any]]) -> tuple[str, ...]:
    """R1, R2 of each pair, lane by lane: the n-th R1 of a lane (by name) goes with its n-th R2,
    which is how Illumina chunks (``_001``, ``_002``) pair up."""
    lanes: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"R1": [], "R2": []})
    for row in rows:
        lanes[_lane(row) or ""][row["mate"]].append(row["object_uri"])
    return tuple(uri for lane in sorted(lanes)
                 for pair in zip(sorted(lanes[lane]["R1"]), sorted(lanes[lane]["R2"]), strict=True)
                 for uri in pair)


def _lane(row: Mapping[str, Any]) -> str | None:
    # Rows written before the lane column was filled have it null: the key still holds it.
    return row.get("lane") or classify(row.get("object_key") or "").lane
