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
# kill -9 leaves it: no cleanup) at a chosen point of a dispatch followed to the end; the next
# run must take back what it left and land the lake of an uninterrupted run, times included
# (a job planned again must be the job it was: same timeline, same instance life).
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

# Dies when the results of a run that needed a retry are about to be written: its final row and
# decision are in the lake, and so are cost rows of its first attempt (priced when that
# attempt's reclaimed instance ended), but not its metrics nor its own costs.
_DIES_BEFORE_RESULTS = """
import os, sys
import ingest.service
from seqledger.cli import main

finish = ingest.service.finish_runs
def dying(store, runs, *args, **kw):
    if any(len(r.attempts) > int(sys.argv[1]) for r in runs):
        os._exit(137)
    return finish(store, runs, *args, **kw)
ingest.service.finish_runs = dying
main(["ingest", "event", *sys.argv[2:]], prog_name="seqledger")
"""


def _killed_then_run_again(here: Path, script: str, arg: int) -> tuple[dict, dict]:
    """(reference lake, the lake of a dispatch killed by ``script`` and run again)."""
    import subprocess
    import sys

    from tests.fault.trials import _prepared, arrival_events, run, snapshot

    events = [str(p) for p in arrival_events(here, 6)]
    ref_env = _prepared(here / "reference", here, lambda lake, env: None, None)
    assert run(["ingest", "event", *events], ref_env).returncode == 0
    env = _prepared(here / "lake", here, lambda lake, env: None, None)
    died = subprocess.run([sys.executable, "-c", script, str(arg), *events], env=env,
                          capture_output=True, text=True, timeout=300)
    assert died.returncode == 137, died.stderr
    again = run(["ingest", "event", *events], env)
    assert again.returncode == 0, again.stderr
    return snapshot(here / "reference"), snapshot(here / "lake")


@pytest.mark.parametrize("batches", [1, 3, 5])
def test_a_dispatch_killed_between_batches_finishes_its_runs_when_run_again(
        reference: Path, work: Path, batches: int):
    from tests.fault.trials import compare

    want, got = _killed_then_run_again(work / f"resume-{batches}", _DIES_AFTER, batches)
    lost, extra, examples = compare(want, got)
    assert (lost, extra) == (0, 0), examples
    assert sum(want["runs"].values()) > 6  # the reference did finish runs
    assert sum(want["instances"].values()) > 6  # and saw its instances end


def test_a_run_killed_before_its_results_gets_them_when_run_again(reference: Path, work: Path):
    from tests.fault.trials import compare

    want, got = _killed_then_run_again(work / "results", _DIES_BEFORE_RESULTS, 1)
    lost, extra, examples = compare(want, got)
    assert (lost, extra) == (0, 0), examples
    assert sum(want["qc_metrics"].values()) > 100  # the runs' metrics are what was at stake
