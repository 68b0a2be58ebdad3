"""The local-DRAGEN executor survives a killed dispatch: ``seqledger ingest event`` run again
finds the jobs the dead process started (their records and exit files) and adopts the ones still
running, or records the dead ones as failed attempts and retries them, as an uninterrupted run.

The DRAGEN server is the stand-in the executor's tests use (a Python command), here one that
takes a moment and leaves real DRAGEN metric files in the job's work folder.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fault.trials import arrival_events, env_for, run

pytestmark = pytest.mark.fault

# What the job "runs": a second of work, then the metric files of a real DRAGEN run.
_DRAGEN = ("import shutil, sys, time; time.sleep(1.0); "
           "shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True)")

# The dispatch dies (os._exit: no cleanup, as kill -9) right after it started its n-th job;
# with "server", the job dies too (its whole process group, as a restart of the server).
_DIES_AT_START = """
import os, signal, sys
from pipeline_runner.executors.local import LocalExecutor
from seqledger.cli import main

start, calls = LocalExecutor._start, [0]
def dying(self, job, now):
    start(self, job, now)
    calls[0] += 1
    if calls[0] >= int(sys.argv[1]):
        if sys.argv[2] == "server":
            os.killpg(job.process.pid, signal.SIGKILL)
            job.process.wait()
        os._exit(137)
LocalExecutor._start = dying
main(["ingest", "event", *sys.argv[3:]], prog_name="seqledger")
"""

# the local executor's job and event ids are random, and its times are the machine's; each lake
# has its own output folder
_VOLATILE = ("job_id", "event_id", "reason", "status_reason", "output_prefix", "source_uri")


def _rows(lake: Path, name: str) -> Counter:
    from lake.settings import Settings
    from lake.store import LakeStore

    rows = LakeStore(Settings(lake_uri=str(lake))).read(name).to_pylist()
    # whether a job waited its turn (RUNNABLE) is timing: one that ended while nobody watched
    # left its turn before the next was submitted
    rows = [r for r in rows if r.get("status") != "RUNNABLE"]
    return Counter(json.dumps({k: v for k, v in r.items()
                               if k not in _VOLATILE and not k.endswith("_at")},
                              sort_keys=True, default=str) for r in rows)


@pytest.fixture(scope="module")
def local_runs(reference: Path, tmp_path_factory) -> tuple[Path, list[str], dict[str, str]]:
    """(work folder, the arrival event files, the environment of a local-executor run)."""
    work = tmp_path_factory.mktemp("local-kill")
    events = [str(p) for p in arrival_events(work, 3)]
    command = shlex.join([sys.executable, "-c", _DRAGEN, str(reference / "dragen" / "TEST"),
                          "{output}"])
    env = {**env_for(work / "reference", work, "local"), "SEQLEDGER_LOCAL_COMMAND": command}
    done = run(["ingest", "event", *events], env, timeout=300)
    assert done.returncode == 0, done.stderr
    return work, events, env


def _killed_then_run_again(work: Path, events: list[str], env: dict[str, str], name: str,
                           nth: int, how: str) -> Path:
    lake = work / name
    env = {**env, "SEQLEDGER_LAKE": str(lake), "SEQLEDGER_OUTPUT_PREFIX": str(work / name / "out")}
    died = subprocess.run([sys.executable, "-c", _DIES_AT_START, str(nth), how, *events],
                          env=env, capture_output=True, text=True, timeout=300)
    assert died.returncode == 137, died.stderr
    again = run(["ingest", "event", *events], env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    return lake


@pytest.mark.parametrize("nth", [1, 2])
def test_a_job_still_running_is_adopted_and_finishes_as_if_nothing_happened(local_runs, nth):
    work, events, env = local_runs
    lake = _killed_then_run_again(work, events, env, f"running-{nth}", nth, "alone")
    reference = work / "reference"
    assert sum(_rows(reference, "qc_metrics").values()) > 50  # the runs did load metrics
    for name in ("runs", "job_attempts", "decisions", "qc_metrics", "qc_histograms"):
        assert _rows(lake, name) == _rows(reference, name), name


def test_a_job_dead_with_the_dispatch_is_a_failed_attempt_and_is_retried(local_runs):
    from lake.settings import Settings
    from lake.store import LakeStore

    work, events, env = local_runs
    lake = _killed_then_run_again(work, events, env, "server-restart", 2, "server")
    store = LakeStore(Settings(lake_uri=str(lake)))
    runs = {(r["sample_id"], r["status"]) for r in store.read("runs").to_pylist()}
    assert {s for s, st in runs if st == "SUCCEEDED"} == {"S000", "S001", "S002"}
    assert not {s for s, st in runs if st == "FAILED"}
    decisions = store.read("decisions").to_pylist()
    retried = [d for d in decisions if d["action"] != "complete"]
    assert [(d["sample_id"], d["attempt"], d["action"]) for d in retried] == [("S001", 1, "retry")]
    assert "ended without recording an exit status" in retried[0]["reason"]
    attempts = {(r["sample_id"], r["attempt"]) for r in store.read("job_attempts").to_pylist()}
    assert attempts == {("S000", 1), ("S001", 1), ("S001", 2), ("S002", 1)}
    # the metrics are the reference's: attempt 2 of S001 ran the same DRAGEN on the same input
    assert _rows(lake, "qc_metrics") == _rows(work / "reference", "qc_metrics")
