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
    input_uris: tuple[str, ...]  # sorted
    input_size_bytes: int | None  # None when any input's size is unknown
    run_id: str


def arrival_id(object_uri: str, etag: str) -> str:
    """The ``arrivals`` row id: a hash of the object version it records."""
    return hashlib.sha256(f"{object_uri}\x1f{etag}".encode()).hexdigest()[:32]


def arrival_row(obj: ObjectCreated, c: Classified) -> dict[str, Any]:
    """An ``arrivals`` table row for an object and its classification.

    When the event carries no ETag (the column is required and keys the row), the ETag is
    replaced by ``no-etag:size=<size>:at=<event time>``: it says it is not a content hash, and
    it is the same for every redelivery of the event, so duplicates still collapse.
    """
    etag = obj.etag or f"no-etag:size={obj.size_bytes if obj.size_bytes is not None else '?'}" \
        f":at={obj.event_at.isoformat()}"
    uri = obj.uri
    return {
        "arrival_id": arrival_id(uri, etag),
        "object_uri": uri,
        "bucket": obj.bucket,
        "object_key": obj.key,
        "etag": etag,
        "size_bytes": obj.size_bytes,
        "event_at": obj.event_at,
        "event_id": obj.event_id,
        "envelope": obj.envelope,
        "input_kind": c.kind,
        "mate": c.mate,
        "project": c.project,
        "sample_id": c.sample_id,
        "reason": c.reason,
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
            input_uris=tuple(sorted(r["object_uri"] for r in rows)),
            input_size_bytes=None if any(s is None for s in sizes) else sum(sizes),
            run_id=run_id_for(sample_id, ((r["object_uri"], r["etag"]) for r in rows)),
        ))
    return sorted(ready, key=lambda s: (s.project or "", s.sample_id, s.input_kind))


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


def _lane(row: Mapping[str, Any]) -> str | None:
    # Rows read back from the lake carry a lane column that arrival_row leaves empty: an empty
    # lane says nothing, and the key holds it (else a mate read back and its fresh partner
    # would count in two different lanes and the pair would never be complete).
    if row.get("lane") is not None:
        return row["lane"]
    return classify(row.get("object_key") or "").lane
