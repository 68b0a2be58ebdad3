"""Kill -9 and concurrency trials: real ``seqledger`` processes on one lake, killed at a random
moment and run again, or run side by side; the lake is then compared with an uninterrupted run.

A lake is compared as its deduplicated tables without ``recorded_at`` (the only column that
must differ between two runs), row by row: a reference row missing is *lost*, a row the reference
lacks is *extra* (a duplicate dispatch, a half-applied step that never converged).

Used by ``tests/fault/test_kill.py`` (a few trials) and ``benchmarks/bench_faults.py`` (many).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXIT_TEMPFAIL = 75  # a transient condition deferred part of the work: run the command again
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Columns that say when seqledger did something, not what: they differ between two runs.
VOLATILE = frozenset({"recorded_at", "quarantined_at"})
OPERATIONS = ("ingest dragen", "ingest event", "ingest billing", "lake compact", "dispatch")
PROJECTS = """[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n"""


@dataclass
class TrialReport:
    """What a series of trials found."""

    kind: str
    trials: int = 0
    killed: int = 0  # trials whose process was killed before it finished
    failures: list[str] = field(default_factory=list)  # a re-run that did not exit cleanly
    rows_lost: int = 0
    rows_extra: int = 0
    examples: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.kind:18} trials {self.trials:4}  killed {self.killed:4}  failures "
                f"{len(self.failures):3}  rows lost {self.rows_lost:5}  extra/duplicated "
                f"{self.rows_extra:5}")


def env_for(lake: Path, work: Path, executor: str = "simulated") -> dict[str, str]:
    projects = work / "projects.toml"
    if not projects.exists():
        projects.write_text(PROJECTS)
    return {**os.environ, "SEQLEDGER_LAKE": str(lake), "SEQLEDGER_PROJECTS": str(projects),
            "SEQLEDGER_OUTPUT_PREFIX": str(work / "outputs"), "SEQLEDGER_EXECUTOR": executor,
            "SEQLEDGER_STORAGE_RETRY_S": "5"}


def seqledger(args: list[str], env: dict[str, str]) -> list[str]:
    return [str(Path(sys.executable).parent / "seqledger"), *args]


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(seqledger(args, env), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def run_killed(args: list[str], env: dict[str, str], delay_s: float) -> bool:
    """Start ``seqledger args``, kill -9 it after ``delay_s``; whether it was still running."""
    proc = subprocess.Popen(seqledger(args, env), env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(delay_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def snapshot(lake: Path, times: bool = True) -> dict[str, Counter]:
    """Every table's deduplicated rows without the volatile columns, as a multiset of JSON.

    ``times=False`` also leaves out every ``*_at`` column: runs of the event path take "now"
    as the processing time, so two runs agree on what happened, not when.
    """
    from lake.schemas import TABLES
    from lake.settings import Settings
    from lake.store import LakeStore

    store = LakeStore(Settings(lake_uri=str(lake), storage_retry_s=5))
    out = {}
    for name in TABLES:
        tbl = store.read(name)
        keep = [c for c in tbl.column_names
                if c not in VOLATILE and (times or not c.endswith("_at"))]
        out[name] = Counter(json.dumps(r, sort_keys=True, default=str)
                            for r in tbl.select(keep).to_pylist())
    return out


def compare(reference: dict[str, Counter], got: dict[str, Counter]) -> tuple[int, int, list[str]]:
    """(rows lost, rows extra, a few examples) of ``got`` against ``reference``."""
    lost = extra = 0
    examples = []
    for name, ref in reference.items():
        mine = got.get(name, Counter())
        missing, more = ref - mine, mine - ref
        lost += sum(missing.values())
        extra += sum(more.values())
        examples += [f"{name} lost {r[:160]}" for r in list(missing)[:1]]
        examples += [f"{name} extra {r[:160]}" for r in list(more)[:1]]
    return lost, extra, examples


# --- inputs -------------------------------------------------------------------------------


def arrival_events(work: Path, samples: int, seed: int = 0) -> list[Path]:
    """S3 object-created event files (R1 and R2 of ``samples`` samples, mixed envelopes)."""
    from seqledger.envelopes import object_created

    rng = random.Random(seed)
    folder = work / "events"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(samples):
        sample = f"S{i:03d}"
        for n, mate in enumerate(("R1", "R2")):
            envelope = rng.choice(("s3", "sns", "sqs-sns", "eventbridge"))
            at = T0 + timedelta(minutes=i, seconds=n)
            doc = object_created(envelope, "in", f"cardio/{sample}/{sample}_{mate}.fastq.gz",
                                 30_000_000_000, f"etag-{sample}-{mate}", at, f"{i:08X}{n:08X}")
            path = folder / f"{sample}-{mate}.json"
            path.write_text(json.dumps(doc))
            paths.append(path)
    return paths


# --- trials -------------------------------------------------------------------------------


def _prepared(lake: Path, work: Path, prepare, env_extra: dict[str, str] | None
              ) -> dict[str, str]:
    """A fresh lake made ready by ``prepare``; the environment a run on it uses."""
    env = {**env_for(lake, work), **(env_extra or {})}
    prepare(lake, env)
    return env


def _failed(report: TrialReport, label: str, code: int, stderr: str,
            ok: tuple[int, ...] = (0, 1)) -> None:
    """Count a run that ended with an unexpected status or printed a traceback."""
    if code not in ok or "Traceback" in stderr:
        report.failures.append(f"{label}: exit {code}: {stderr.strip().splitlines()[-1:]}")


def _tally(report: TrialReport, reference: dict[str, Counter], lake: Path, times: bool) -> None:
    """Rows the trial's lake lost or gained against the reference run's."""
    lost, extra, examples = compare(reference, snapshot(lake, times))
    report.rows_lost += lost
    report.rows_extra += extra
    report.examples += examples[:2]


def kill_trials(kind: str, args_of, prepare, work: Path, trials: int, rng: random.Random,
                max_delay_s: float, env_extra: dict[str, str] | None = None,
                times: bool = True) -> TrialReport:
    """``trials`` times: a fresh lake (``prepare(lake)``), ``seqledger args`` killed after a
    random delay, then run again to completion; compared with one uninterrupted run."""
    report = TrialReport(kind)
    ref_lake = work / f"{kind}-reference"
    env = _prepared(ref_lake, work, prepare, env_extra)
    done = run(args_of(ref_lake), env)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{kind}: the reference run failed: {done.stderr[-2000:]}")
    reference = snapshot(ref_lake, times)
    for t in range(trials):
        lake = work / f"{kind}-{t}"
        env = _prepared(lake, work, prepare, env_extra)
        report.trials += 1
        report.killed += run_killed(args_of(lake), env, rng.uniform(0.2, max_delay_s))
        again = run(args_of(lake), env)
        _failed(report, f"{kind} trial {t}", again.returncode, again.stderr)
        _tally(report, reference, lake, times)
    return report


def concurrent_trials(kind: str, args_of, prepare, work: Path, trials: int, writers: int,
                      times: bool = True, env_extra: dict[str, str] | None = None
                      ) -> TrialReport:
    """``writers`` processes run ``seqledger args`` on one lake at once; compared with one.

    A process that exits 75 (a claim held by another one still at work) is run again once the
    others are done, as its exit status asks; every other run must end 0 or 1."""
    report = TrialReport(f"{kind} x{writers}")
    ref_lake = work / f"{kind}-cref"
    run(args_of(ref_lake), _prepared(ref_lake, work, prepare, env_extra))
    reference = snapshot(ref_lake, times)
    for t in range(trials):
        lake = work / f"{kind}-c{t}"
        env = _prepared(lake, work, prepare, env_extra)
        procs = [subprocess.Popen(seqledger(args_of(lake), env), env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(writers)]
        report.trials += 1
        deferred = 0
        for p in procs:
            _, err = p.communicate(timeout=600)
            deferred += p.returncode == EXIT_TEMPFAIL
            _failed(report, f"{kind} trial {t}", p.returncode, err, (0, 1, EXIT_TEMPFAIL))
        for _ in range(deferred):  # what the exit status asks for: the same command again
            again = run(args_of(lake), env)
            _failed(report, f"{kind} trial {t}: run again", again.returncode, again.stderr)
        _tally(report, reference, lake, times)
    return report


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# --- scenarios: (name, args of a lake, prepare a lake, options) ------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    args_of: object  # lake -> seqledger arguments
    prepare: object  # (lake, env) -> None
    env_extra: dict[str, str] = field(default_factory=dict)
    times: bool = True
    max_delay_s: float = 4.0


def scenarios(work: Path, reference: Path, samples: int = 6) -> dict[str, Scenario]:
    """The operations the harness interrupts: DRAGEN ingest, event ingest (arrivals only, and
    with dispatch followed to the end on the simulated executor), billing, compaction."""
    import shutil

    events = [str(p) for p in arrival_events(work, samples)]
    dragen = str(reference / "dragen" / "NA12878_NFE_B_A04_NS2000")
    cur = str(reference / "aws-cur" / "Oct2018-WorkshopCUR-00001.sample-rows.csv")
    template = work / "compaction-template"

    def nothing(lake: Path, env: dict[str, str]) -> None:
        shutil.rmtree(lake, ignore_errors=True)

    def many_files(lake: Path, env: dict[str, str]) -> None:
        if not template.exists():  # small writes, as a day of Lambda invocations leaves them
            tenv = {**env, "SEQLEDGER_LAKE": str(template)}
            for i in range(0, len(events), 4):
                run(["ingest", "event", "--no-follow", *events[i:i + 4]], tenv)
            for n, folder in enumerate(("TEST", "Sample_1")):
                run(["ingest", "dragen", str(reference / "dragen" / folder), "--sample-id",
                     folder, "--run-id", f"run-{n}", "--run-at", "2026-03-02T12:00:00Z"], tenv)
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(template, lake)

    no_projects = {"SEQLEDGER_PROJECTS": str(work / "no-projects.toml")}
    return {
        "ingest dragen": Scenario(
            "ingest dragen",
            lambda lake: ["ingest", "dragen", dragen, "--sample-id", "NA12878", "--run-id",
                          "run-1", "--run-at", "2024-05-17T12:00:00Z"], nothing),
        "ingest event": Scenario(
            "ingest event", lambda lake: ["ingest", "event", "--no-follow", *events], nothing,
            env_extra=no_projects),
        "ingest billing": Scenario("ingest billing", lambda lake: ["ingest", "cur", cur],
                                   nothing),
        "lake compact": Scenario("lake compact", lambda lake: ["lake", "compact"], many_files,
                                 max_delay_s=3.0),
        # times compared too: a job taken back after the kill is planned from its recorded
        # submission time, so it is the job it was, with the same timeline
        "dispatch": Scenario("dispatch", lambda lake: ["ingest", "event", *events], nothing,
                             max_delay_s=8.0),
    }


def kill(s: Scenario, work: Path, trials: int, rng: random.Random) -> TrialReport:
    return kill_trials(s.name, s.args_of, s.prepare, work, trials, rng, s.max_delay_s,
                       s.env_extra, s.times)


def concurrent(s: Scenario, work: Path, trials: int, writers: int) -> TrialReport:
    return concurrent_trials(s.name, s.args_of, s.prepare, work, trials, writers, s.times,
                             s.env_extra)
