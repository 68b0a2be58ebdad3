"""Kill -9 and concurrent writers, quick: real ``seqledger`` processes on one lake, killed at a
random moment and run again, or run side by side, end with the lake of an uninterrupted run.

One trial per operation here; ``benchmarks/bench_faults.py`` runs twenty and more, dispatch too.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fault.trials import concurrent, kill, scenarios

pytestmark = pytest.mark.fault


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kill")


@pytest.mark.parametrize("name", ["ingest dragen", "ingest event", "ingest billing",
                                  "lake compact"])
def test_killed_and_run_again_reaches_the_same_lake(reference: Path, work: Path, name: str):
    scenario = scenarios(work / name.replace(" ", "-"), reference)[name]
    report = kill(scenario, work / name.replace(" ", "-"), trials=1, rng=random.Random(17))
    assert report.failures == []
    assert (report.rows_lost, report.rows_extra) == (0, 0), report.examples


def test_concurrent_event_ingests_write_each_row_once(reference: Path, work: Path):
    folder = work / "concurrent"
    scenario = scenarios(folder, reference)["ingest event"]
    report = concurrent(scenario, folder, trials=1, writers=3)
    assert report.failures == []
    assert (report.rows_lost, report.rows_extra) == (0, 0), report.examples


# The simulator's jobs live in the process that submitted them. This process dies (os._exit, as
# kill -9 leaves it: no cleanup) after its n-th batch of followed events, between two batches'
# writes: attempts submitted there (first ones, and retries after a Spot reclaim) must be taken
# back by the next run, or their runs wait for ever.
_DIES_AFTER = """
import os, sys
from pipeline_runner.executors.simulated import SimulatedBatch
from seqledger.cli import main

advance, calls = SimulatedBatch.advance, [0]
def dying(self, until):
    calls[0] += 1
    if calls[0] > int(sys.argv[1]):
        os._exit(137)
    return advance(self, until)
SimulatedBatch.advance = dying
main(["ingest", "event", *sys.argv[2:]], prog_name="seqledger")
"""


@pytest.mark.parametrize("batches", [1, 3, 5])
def test_a_dispatch_killed_between_batches_finishes_its_runs_when_run_again(
        reference: Path, work: Path, batches: int):
    import subprocess
    import sys

    from tests.fault.trials import _prepared, arrival_events, compare, run, snapshot

    here = work / f"resume-{batches}"
    events = [str(p) for p in arrival_events(here, 6)]
    ref_env = _prepared(here / "reference", here, lambda lake, env: None, None)
    assert run(["ingest", "event", *events], ref_env).returncode == 0
    env = _prepared(here / "lake", here, lambda lake, env: None, None)
    died = subprocess.run([sys.executable, "-c", _DIES_AFTER, str(batches), *events], env=env,
                          capture_output=True, text=True, timeout=300)
    assert died.returncode == 137, died.stderr
    again = run(["ingest", "event", *events], env)
    assert again.returncode == 0, again.stderr
    want, got = snapshot(here / "reference", times=False), snapshot(here / "lake", times=False)
    tables = ("runs", "job_attempts", "decisions", "qc_metrics")
    lost, extra, examples = compare({t: want[t] for t in tables}, {t: got[t] for t in tables})
    assert (lost, extra) == (0, 0), examples
    assert sum(want["runs"].values()) > 6  # the reference did finish runs
