"""Several ``seqledger ingest event`` processes at once, and processes killed mid-dispatch,
on a local lake: every run is dispatched once, and a re-run finishes what a crash left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import s3_notification

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
SEQLEDGER = str(Path(sys.executable).parent / "seqledger")


def event_files(folder: Path, samples: list[str]) -> dict[str, list[Path]]:
    """One S3 notification file per FASTQ mate; the files of each sample."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {}
    for i, sample in enumerate(samples):
        for n, mate in enumerate(("R1", "R2")):
            key = f"cardio/{sample}/{sample}_S1_L001_{mate}_001.fastq.gz"
            doc = s3_notification("in", key, 30 * 10**9, f"e{i}{n}", AT, f"{i:08X}{n:08X}")
            path = folder / f"{sample}_{mate}.json"
            path.write_text(json.dumps(doc))
            files.setdefault(sample, []).append(path)
    return files


@pytest.fixture
def cli_env(tmp_path) -> dict[str, str]:
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    return {**os.environ, "SEQLEDGER_LAKE": str(tmp_path / "lake"),
            "SEQLEDGER_PROJECTS": str(projects), "SEQLEDGER_OUTPUT_PREFIX": str(tmp_path / "out"),
            "SEQLEDGER_EXECUTOR": "simulated"}


def start(env: dict[str, str], files: list[Path], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([SEQLEDGER, "ingest", "event", *extra, *map(str, files)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# The processes meet after reading which runs the lake has, before dispatching: the overlap
# that concurrent ingests hit by chance, made certain (each process waits at most 60 s).
_MEET = """
import os, sys, time
from pathlib import Path
from pipeline_runner.service import Runner
folder, expected = Path(os.environ["MEET_DIR"]), int(os.environ["MEET_N"])
real, met = Runner._load_runs, []
def load_runs(self, run_ids, **kw):
    real(self, run_ids, **kw)
    if not met:
        met.append(1)
        folder.mkdir(exist_ok=True)
        (folder / str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(list(folder.iterdir())) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
Runner._load_runs = load_runs
from seqledger.cli import main
sys.argv = ["seqledger", *sys.argv[1:]]
main()
"""


def start_together(env: dict[str, str], sets: list[list[Path]], meet: Path) -> list:
    env = {**env, "MEET_DIR": str(meet), "MEET_N": str(len(sets))}
    return [subprocess.Popen([sys.executable, "-c", _MEET, "ingest", "event", *map(str, files)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for files in sets]


def first_jobs(lake: str) -> dict[str, set[str]]:
    """run id -> the job ids recorded for its attempt 1."""
    rows = LakeStore(Settings(lake_uri=lake)).read("job_attempts", dedupe=False).to_pylist()
    jobs: dict[str, set[str]] = {}
    for r in rows:
        if r["attempt"] == 1:
            jobs.setdefault(r["run_id"], set()).add(r["job_id"])
    return jobs


# The local executor's job ids are random, so a second submission shows as a second job id;
# the simulator's are derived from the job name, so with it the test is that nothing crashes.
@pytest.mark.parametrize(("executor", "processes"),
                         [("local", 2), ("local", 4), ("simulated", 4)])
def test_concurrent_ingests_dispatch_each_run_once(tmp_path, cli_env, executor, processes):
    cli_env = {**cli_env, "SEQLEDGER_EXECUTOR": executor, "SEQLEDGER_LOCAL_COMMAND": "true"}
    samples = [f"C{processes}{i}" for i in range(3)]
    by_sample = event_files(tmp_path / "events", samples)
    every = [f for s in samples for f in by_sample[s]]
    # overlapping sets: every process sees every sample, each in its own order
    sets = [every[i:] + every[:i] for i in range(0, 2 * processes, 2)]
    procs = start_together(cli_env, sets, tmp_path / "meet")
    done = [(p.wait(240), *p.communicate()) for p in procs]
    for code, out, err in done:
        assert "Traceback" not in err
        # 75 only for a claim held by a process still at work: a transient error
        assert code == 0 or (code == 75 and "transient errors" in out), out + err
    for files, (code, _, _) in zip(sets, done, strict=True):
        if code == 75:  # the documented answer (EX_TEMPFAIL): run the same files again
            again = start(cli_env, files)
            assert again.wait(240) == 0, again.communicate()[1]
    jobs = first_jobs(cli_env["SEQLEDGER_LAKE"])
    assert len(jobs) == len(samples)
    assert all(len(j) == 1 for j in jobs.values()), jobs
    runs = LakeStore(Settings(lake_uri=cli_env["SEQLEDGER_LAKE"])).read("runs").to_pylist()
    assert sorted({r["sample_id"] for r in runs}) == samples


# -- a crash anywhere in dispatch, then a re-run ---------------------------------------------------

_CRASH = """
import os, sys
from lake.store import LakeStore
point = os.environ["CRASH_AT"]
if point.startswith("write:"):
    real = LakeStore.write
    def write(self, name, rows, recorded_at=None):
        if name == point[len("write:"):]:
            os._exit(137)  # as kill -9: nothing flushed, nothing cleaned
        return real(self, name, rows, recorded_at)
    LakeStore.write = write
else:  # a claim step, alone or in its batch form (a dispatch claims its runs together)
    from lake.claims import ClaimStore
    after = point.startswith("after:")
    step = point.removeprefix("after:")
    for name in {"acquire": ("acquire", "acquire_many"),
                 "record_job": ("record_job", "record_jobs")}[step]:
        def crash(self, *a, _real=getattr(ClaimStore, name), **k):
            if after:  # the step done and durable, what follows it never starts
                _real(self, *a, **k)
            os._exit(137)
        setattr(ClaimStore, name, crash)
from seqledger.cli import main
main()
"""

# before the claim, after the claim and before SubmitJob, between SubmitJob and recording the
# job in the claim, between the runs and the job_attempts writes (issue 17, item 2)
CASES = [("simulated", "acquire"), ("simulated", "after:acquire"), ("simulated", "record_job"),
         ("simulated", "write:job_attempts"), ("local", "write:job_attempts")]


def lake_without_times(lake: str, mask: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    store = LakeStore(Settings(lake_uri=lake))
    tables = {}
    for name in ("runs", "job_attempts", "decisions"):
        rows = store.read(name).to_pylist()
        tables[name] = sorted(
            tuple(sorted((k, "*" if k in mask else str(v)) for k, v in r.items()
                         if not k.endswith("_at")))
            for r in rows)
    return tables


@pytest.mark.parametrize(("executor", "point"), CASES)
def test_a_dispatch_killed_anywhere_finishes_on_the_next_run(tmp_path, cli_env, executor, point):
    cli_env = {**cli_env, "SEQLEDGER_EXECUTOR": executor, "SEQLEDGER_LOCAL_COMMAND": "true"}
    samples = ["K1", "K2"]
    files = [f for fs in event_files(tmp_path / "events", samples).values() for f in fs]
    clean_env = {**cli_env, "SEQLEDGER_LAKE": str(tmp_path / "clean-lake")}
    clean = start(clean_env, files, "--no-follow")
    assert clean.wait(120) == 0, clean.communicate()[1]

    crashed = subprocess.run([sys.executable, "-c", _CRASH, "ingest", "event", "--no-follow",
                              *map(str, files)], env={**cli_env, "CRASH_AT": point},
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    rerun = start(cli_env, files, "--no-follow")
    code, err = rerun.wait(120), rerun.communicate()[1]
    assert code == 0, err
    # The same lake as a run that was never interrupted (the simulator's job ids are
    # deterministic, the local executor's random); times differ, as the runs do.
    mask = ("job_id",) if executor == "local" else ()
    lake = lake_without_times(cli_env["SEQLEDGER_LAKE"], mask)
    assert lake == lake_without_times(clean_env["SEQLEDGER_LAKE"], mask)
    assert len(lake["job_attempts"]) == len(samples)  # one SUBMITTED attempt per run
