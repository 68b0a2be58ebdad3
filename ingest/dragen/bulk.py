"""Many DRAGEN runs in one call: discover them under roots, load the new ones in parallel batches.

The steps, each a small function: list the roots and group files into runs
(:mod:`ingest.dragen.discovery`); give each run its ids (:mod:`ingest.dragen.ids`); read which
runs the lake already has (the ``run_id`` column of ``qc_metrics``, one column of small files);
skip, unread, the runs whose files' stamps say they are unchanged (:mod:`ingest.dragen.stamps`);
then worker processes read, parse and write batches of the others. A batch writes each table
once, so 400 runs make a few dozen lake files, not 1,200. ``qc_metrics`` is written last: a run is
"loaded" once its metrics are in, and a batch cut short is simply loaded again (the other
tables' files are named by their rows, so the rewrite adds nothing new to the views).

A run that cannot be loaded (no date, a mapping that names it ambiguously, unreadable files) is
quarantined with the reason; the others go on.
"""

from __future__ import annotations

import gc
import hashlib
import math
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ingest.dragen.discovery import RunFiles, group_runs, list_stats
from ingest.dragen.ids import IdMapping, RunIds, content_digest, ids_from_files, ids_from_pattern
from ingest.dragen.replay import replay_document
from ingest.dragen.service import (
    STAGE,
    TABLES,
    ParsedRun,
    file_layout,
    parse_run_files,
    read_run,
    run_filesystem,
)
from ingest.dragen.stamps import FILES, known_stamps, record_stamps, run_stamp
from lake.errors import ParseError
from lake.quarantine import quarantine_row
from lake.settings import Settings
from lake.store import LakeStore

if TYPE_CHECKING:
    from pathlib import Path

MAX_BATCH_RUNS = 50  # runs per lake file: few files, and a bounded worker memory
BATCHES_PER_WORKER = 4  # enough batches that the progress bar moves and workers stay busy
IN_PROCESS_RUNS = 8  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class RunJob:
    """One discovered run, ready for a worker: where its files are and what ids it has so far."""

    fs: pafs.FileSystem
    run: RunFiles
    source: str  # how quarantine rows and reports name the run folder
    ids: RunIds | None  # from a mapping or a pattern; None: from the files
    run_at: datetime | None  # the explicit fallback date (--run-at)
    stamp: str | None = None  # folder, names, sizes and times of its files (ingest.dragen.stamps)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What happened to one run: loaded, skipped (already in the lake) or refused (why)."""

    label: str
    status: str  # loaded | skipped | refused
    sample_id: str | None = None
    run_id: str | None = None
    run_at: datetime | None = None
    dragen_version: str | None = None
    rows: int = 0
    quarantined: int = 0  # quarantine rows: bad lines and files, or the whole run
    reason: str | None = None


@dataclass
class BulkSummary:
    """What one bulk call did, run by run."""

    runs: list[RunOutcome] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)
    files_written: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.runs if r.status == status)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.runs)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.runs)


# --- planning (no lake writes) --------------------------------------------------------------------


# a run, its filesystem, the root it is under and the stamp of its files
Found = tuple[pafs.FileSystem, str, RunFiles, str | None]


def discover(store: LakeStore, roots: Sequence[str | Path],
             ) -> tuple[list[Found], list[tuple[str, str]]]:
    """Every run under ``roots``, and the metric-looking files that belong to no run.

    Raises:
        ParseError: a root is not a folder.
    """
    found: list[Found] = []
    orphans: list[tuple[str, str]] = []
    seen: set[tuple[int, str]] = set()
    for root in roots:
        fs, path = run_filesystem(store, root)
        stats = list_stats(fs, path)
        discovery = group_runs(path, sorted(stats))
        orphans += discovery.orphans
        for run in discovery.runs:
            key = (id(type(fs)), f"{run.folder}\0{run.prefix}")
            if key not in seen:  # overlapping roots name the same run once
                seen.add(key)
                found.append((fs, str(root), run, run_stamp(run.folder, run.names, stats)))
    return found, orphans


def plan(found: Sequence[Found], *, mapping: IdMapping | None,
         pattern: re.Pattern[str] | None, run_at: datetime | None,
         ) -> tuple[list[RunJob], list[RunOutcome]]:
    """Jobs for the runs whose ids can be known, and refusals for the others (pure)."""
    per_folder: dict[str, int] = {}
    for _, _, run, _ in found:
        per_folder[run.folder] = per_folder.get(run.folder, 0) + 1
    jobs: list[RunJob] = []
    refused: list[RunOutcome] = []
    given: dict[str, str] = {}  # run id -> the run it was given to
    for fs, root, run, stamp in found:
        source = _display(root, run)
        try:
            ids = None
            if mapping is not None:
                ids = mapping.find(run.label, run.relative_folder, run.folder,
                                   per_folder[run.folder])
                if ids is None and pattern is None:
                    raise ParseError(mapping.source, None,
                                     f"has no row for {run.label!r} (folder column)")
            if ids is None and pattern is not None:
                ids = ids_from_pattern(pattern, run.label)
            if ids is not None and given.setdefault(ids.run_id, source) != source:
                raise ParseError(source, None, f"run id {ids.run_id!r} ({ids.origin}) is also "
                                               f"that of {given[ids.run_id]}")
        except ParseError as e:
            refused.append(RunOutcome(source, "refused", reason=str(e), quarantined=1))
            continue
        jobs.append(RunJob(fs, run, source, ids, run_at, stamp))
    return jobs, refused


def _display(root: str, run: RunFiles) -> str:
    base = str(root).rstrip("/")
    rel = run.relative_folder
    folder = f"{base}/{rel}" if rel else base
    return f"{folder}/{run.prefix}" if run.prefix else folder


def loaded_run_ids(store: LakeStore) -> frozenset[str]:
    """The run ids ``qc_metrics`` holds: one dictionary-encoded column of each file."""
    ids: set[str] = set()
    for path in store.files("qc_metrics"):
        with store.fs.open_input_file(path) as f:
            column = pq.ParquetFile(f).read(columns=["run_id"]).column("run_id")
        ids.update(pc.unique(column).to_pylist())
    return frozenset(ids)


def batches(jobs: Sequence[RunJob], workers: int, max_runs: int = MAX_BATCH_RUNS,
            ) -> list[list[RunJob]]:
    """Jobs cut into batches: at most ``max_runs`` each, and about four per worker."""
    if not jobs:
        return []
    size = max(1, min(max_runs, math.ceil(len(jobs) / (workers * BATCHES_PER_WORKER))))
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


# --- one batch (runs in a worker process) ---------------------------------------------------------


def _command_line(files: dict[str, bytes]) -> str | None:
    for name, data in files.items():
        if name.endswith("replay.json"):
            doc = replay_document(data)
            command = doc.get("command_line") if isinstance(doc, dict) else None
            return command if isinstance(command, str) else None
    return None


def _parse_job(job: RunJob, loaded: frozenset[str]) -> tuple[ParsedRun | RunOutcome, str]:
    """A run parsed (or why not), and the digest of its files."""
    run = job.run
    try:
        files, _ = read_run(job.fs, run)
    except OSError as e:
        return RunOutcome(job.source, "refused", reason=f"cannot read the run's files: {e}",
                          quarantined=1), ""
    digest = content_digest(files)
    ids = job.ids or ids_from_files(run.prefix, run.folder.rsplit("/", 1)[-1],
                                    _command_line(files), files, digest)
    if ids.run_id in loaded:
        return RunOutcome(job.source, "skipped", ids.sample_id, ids.run_id), digest
    try:
        return parse_run_files(files, sample_id=ids.sample_id, run_id=ids.run_id,
                               run_at=ids.run_at or job.run_at, source_root=job.source), digest
    except ParseError as e:
        return RunOutcome(job.source, "refused", ids.sample_id, ids.run_id, reason=e.reason,
                          quarantined=1), digest


def load_batch(settings: Settings, jobs: Sequence[RunJob], loaded: frozenset[str],
               ) -> tuple[list[RunOutcome], int]:
    """Parse a batch of runs and write each table once; (outcome per run, files written)."""
    store = LakeStore(settings)
    outcomes: list[RunOutcome] = []
    parsed: list[ParsedRun] = []
    digests: list[str] = []
    quarantine: list[dict] = []
    stamps: list[tuple[str, str, str, str]] = []  # of the runs the lake now holds
    for job in jobs:
        result, digest = _parse_job(job, loaded)
        if job.stamp and result.run_id is not None and (
                not isinstance(result, RunOutcome) or result.status == "skipped"):
            stamps.append((job.stamp, result.sample_id or "", result.run_id,
                           job.ids.origin if job.ids else FILES))
        if isinstance(result, RunOutcome):
            outcomes.append(result)
            if result.status == "refused":
                quarantine.append(quarantine_row(STAGE, job.source,
                                                 ParseError(job.source, None, result.reason)))
            continue
        parsed.append(result)
        digests.append(f"{result.sample_id}\t{result.run_id}\t{result.run_at}\t{digest}")
        quarantine += result.quarantine
        outcomes.append(RunOutcome(job.source, "loaded", result.sample_id, result.run_id,
                                   result.run_at, result.dragen_version,
                                   sum(result.row_counts.values()), len(result.quarantine)))
    written = 0
    if quarantine:
        written += len(store.write("quarantine", quarantine).files_written)
    # The batch's rows are a pure function of its runs' ids and bytes: that names its files.
    digest = hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    for name in (*[t for t in TABLES if t != "qc_metrics"], "qc_metrics"):  # metrics last
        tables = [p.tables[name] for p in parsed if name in p.tables]
        if tables:
            result = store.write(name, pa.concat_tables(tables), inputs_digest=digest,
                                 layout=file_layout(name))
            written += len(result.files_written)
    # after qc_metrics: a stamp only ever names a run that is in the lake (not a lake file)
    record_stamps(store, stamps)
    return outcomes, written


# --- the whole call -------------------------------------------------------------------------------


def ingest_runs(store: LakeStore, jobs: Sequence[RunJob], *, workers: int | None = None,
                max_batch_runs: int = MAX_BATCH_RUNS,
                progress: Callable[[int], None] | None = None) -> BulkSummary:
    """Load the runs of ``jobs`` that the lake does not have yet, in parallel batches.

    ``progress`` is called with the number of runs each finished batch held.
    """
    workers = max(1, workers or os.cpu_count() or 1)
    loaded = loaded_run_ids(store)
    summary = BulkSummary()
    unchanged, jobs = skip_unchanged(jobs, known_stamps(store), loaded)
    if unchanged:
        _add(summary, unchanged, 0, progress)
    if len(jobs) <= IN_PROCESS_RUNS:
        workers = 1
    groups = batches(jobs, workers, max_batch_runs)
    if workers == 1:
        for group in groups:
            outcomes, written = load_batch(store.settings, group, loaded)
            _add(summary, outcomes, written, progress)
        return summary
    # fork: the workers start with every module already imported (spawn would re-import pyarrow).
    # pyarrow probes for pandas on its first conversion of Python values: once here, not per
    # worker (the CLI answers the probe without importing pandas: lake.arrow_probe).
    pa.array([0])
    # The parent's objects are never collected by a worker: its garbage collector would touch
    # (and so copy) every page of them that fork shares.
    gc.freeze()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(load_batch, store.settings, group, loaded) for group in groups]
        for future in as_completed(futures):
            outcomes, written = future.result()
            _add(summary, outcomes, written, progress)
    return summary


def skip_unchanged(jobs: Sequence[RunJob], known: dict[str, tuple[str, str, str]],
                   loaded: frozenset[str]) -> tuple[list[RunOutcome], list[RunJob]]:
    """(skipped, still to read): a run is skipped unread when its stamp was recorded for a run
    id that ``qc_metrics`` holds and that this call would give it too (the same mapping or
    pattern id; ids from the files when it has neither)."""
    skipped: list[RunOutcome] = []
    rest: list[RunJob] = []
    for job in jobs:
        hit = known.get(job.stamp) if job.stamp else None
        if (hit is not None and hit[1] in loaded
                and (job.ids.run_id == hit[1] if job.ids else hit[2] == FILES)):
            skipped.append(RunOutcome(job.source, "skipped", hit[0], hit[1]))
        else:
            rest.append(job)
    return skipped, rest


def _add(summary: BulkSummary, outcomes: list[RunOutcome], written: int,
         progress: Callable[[int], None] | None) -> None:
    summary.runs += outcomes
    summary.files_written += written
    if progress is not None:
        progress(len(outcomes))


def refuse(store: LakeStore, refused: Sequence[RunOutcome]) -> None:
    """Quarantine the runs refused before loading (mapping and pattern problems)."""
    if refused:
        store.write("quarantine", [quarantine_row(STAGE, r.label,
                                                  ParseError(r.label, None, r.reason or ""))
                                   for r in refused])
