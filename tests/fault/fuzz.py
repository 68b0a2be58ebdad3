"""Fuzz the three doors of the lake (events, DRAGEN files, billing exports) with seeded mutations
of real inputs, and account for every input: loaded, quarantined with a reason, or — a defect —
neither, or a traceback.

Used by ``tests/fault/test_fuzz.py`` (a few hundred inputs) and ``benchmarks/bench_faults.py``
(10,000 and more).
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.fault.mutate import mutate_bytes, mutate_event

RUN_AT = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
# A run folder's files: the DRAGEN folders with the most kinds of file.
DRAGEN_FOLDERS = ("TEST", "NA12878_NFE_B_A04_NS2000", "_artificial", "T_SRR7890936_50pc",
                  "issue_2328_inf_values", "issue_3009_rna_metrics", "0201424131")


@dataclass
class FuzzReport:
    """Every input accounted for: loaded, quarantined, or one of the two defects."""

    kind: str
    inputs: int = 0
    loaded: int = 0
    quarantined: int = 0
    tracebacks: list[str] = field(default_factory=list)  # "seed: last line of the traceback"
    unaccounted: list[str] = field(default_factory=list)  # neither loaded nor quarantined

    @property
    def failures(self) -> int:
        return len(self.tracebacks) + len(self.unaccounted)

    def line(self) -> str:
        return (f"{self.kind:8} inputs {self.inputs:6}  loaded {self.loaded:6}  quarantined "
                f"{self.quarantined:6}  tracebacks {len(self.tracebacks):4}  neither "
                f"{len(self.unaccounted):4}")


def _crash(seed: int | str, exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"{seed}: {last[:300]}"


# --- events -----------------------------------------------------------------------------------


def event_corpus(reference: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((reference / "aws-events").glob("*.json"))]


def fuzz_events(settings, reference: Path, seeds: range, *, batch: int = 50,
                progress: Callable[[int], None] | None = None) -> FuzzReport:
    """Mutated AWS events through ``EventService.process`` in batches of ``batch`` payloads.

    A payload is loaded when it gave an object, a job-state change or an event skipped on
    purpose; quarantined when a quarantine row names it (its source, or a record of it).
    """
    from ingest.assembly import build_event_service

    corpus = event_corpus(reference)
    report = FuzzReport("events")
    service = build_event_service(settings, now=RUN_AT)
    seeds = list(seeds)
    for start in range(0, len(seeds), batch):
        chunk = seeds[start:start + batch]
        payloads = []
        for seed in chunk:
            rng = random.Random(seed)
            payloads.append((f"fuzz-{seed}", mutate_event(rng, rng.choice(corpus))))
        report.inputs += len(payloads)
        try:
            out = service.process(payloads, now=RUN_AT)
        except Exception as e:  # noqa: BLE001 - the harness counts what escapes
            report.tracebacks.append(_crash(f"events {chunk[0]}-{chunk[-1]}", e))
            continue
        named = {q["source"].split("#", 1)[0].split(" ", 1)[0] for q in out.quarantine}
        for source, payload in payloads:
            if source in named:
                report.quarantined += 1
            elif _readable(source, payload):
                report.loaded += 1
            else:
                report.unaccounted.append(source)
        if progress:
            progress(report.inputs)
    return report


def _readable(source: str, payload: bytes) -> bool:
    """Whether the event readers take the payload whole (it was loaded, not quarantined)."""
    from ingest.batch_events import job_state_changes
    from ingest.ec2_events import ec2_state_changes
    from ingest.s3_events import detect_kind, parse_event_text, read_s3_events
    from lake.errors import SeqledgerError

    try:
        doc = parse_event_text(payload, source)
        kind = detect_kind(doc)
        if kind == "s3":
            got = read_s3_events(doc, source)
            return not got.invalid and bool(got.created or got.skipped)
        if kind == "batch":
            got = job_state_changes(doc, source)
            return not got.invalid and bool(got.changes)
        if kind == "ec2":
            return bool(ec2_state_changes(doc, source))
    except SeqledgerError:
        return False
    return False


# --- DRAGEN files -----------------------------------------------------------------------------


def dragen_corpus(reference: Path) -> dict[str, dict[str, bytes]]:
    root = reference / "dragen"
    return {name: {p.name: p.read_bytes() for p in sorted((root / name).iterdir()) if p.is_file()}
            for name in DRAGEN_FOLDERS if (root / name).is_dir()}


def fuzz_dragen(settings, reference: Path, seeds: range,
                progress: Callable[[int], None] | None = None) -> FuzzReport:
    """One file of a real run folder mutated per seed; the folder parsed and written as one run.

    The mutated file is loaded (rows), quarantined (a file error or line problems), or neither;
    the folder's other files must load as they do unmutated.
    """
    from ingest.dragen.service import parse_run_files, write_run
    from lake.store import LakeStore

    store = LakeStore(settings)
    corpus = dragen_corpus(reference)
    baseline = {name: {f.name: f.rows for f in parse_run_files(
        files, sample_id=name, run_id=f"run-{name}", run_at=RUN_AT).files}
        for name, files in corpus.items()}
    report = FuzzReport("dragen")
    for n, seed in enumerate(seeds, 1):
        rng = random.Random(seed)
        folder = rng.choice(sorted(corpus))
        files = dict(corpus[folder])
        victim = rng.choice(sorted(files))
        files[victim] = mutate_bytes(rng, files[victim])
        report.inputs += 1
        try:
            parsed = parse_run_files(files, sample_id=folder, run_id=f"fuzz-{seed}",
                                     run_at=RUN_AT)
            if n % 25 == 0:  # writing every run would measure the disk, not the parsers
                write_run(store, parsed)
        except Exception as e:  # noqa: BLE001 - the harness counts what escapes
            report.tracebacks.append(_crash(f"dragen {seed} {folder}/{victim}", e))
            continue
        outcome = {f.name: f for f in parsed.files}
        mine = outcome.get(victim)
        if mine is not None and (mine.error or mine.problems):
            report.quarantined += 1
        elif mine is not None and (mine.rows or mine.skipped):
            report.loaded += 1
        else:
            report.unaccounted.append(f"{seed} {folder}/{victim}")
        lost = [name for name, rows in baseline[folder].items()
                if name != victim and outcome.get(name) is not None
                and outcome[name].rows != rows]
        if lost:
            report.unaccounted.append(f"{seed} {folder}/{victim}: other files changed {lost}")
        if progress and n % 100 == 0:
            progress(n)
    return report


# --- billing exports --------------------------------------------------------------------------


def fuzz_billing(settings, reference: Path, seeds: range, workdir: Path,
                 progress: Callable[[int], None] | None = None) -> FuzzReport:
    """The real CUR sample (CSV) mutated per seed and loaded with ``load_cur_files``."""
    from ingest.cur import load_cur_files
    from lake.store import LakeStore

    store = LakeStore(settings)
    original = (reference / "aws-cur" / "Oct2018-WorkshopCUR-00001.sample-rows.csv").read_bytes()
    report = FuzzReport("billing")
    workdir.mkdir(parents=True, exist_ok=True)
    for n, seed in enumerate(seeds, 1):
        rng = random.Random(seed)
        path = workdir / f"fuzz-{seed}.csv"
        path.write_bytes(mutate_bytes(rng, original))
        report.inputs += 1
        try:
            [res] = load_cur_files([str(path)], store)
        except Exception as e:  # noqa: BLE001 - the harness counts what escapes
            report.tracebacks.append(_crash(f"billing {seed}", e))
            continue
        finally:
            path.unlink()
        if res.error or res.quarantined:
            report.quarantined += 1
        elif res.rows_valid:
            report.loaded += 1
        else:
            report.unaccounted.append(f"{seed}: {res.rows_read} rows read, none valid, "
                                      "nothing quarantined")
        if progress and n % 50 == 0:
            progress(n)
    return report
