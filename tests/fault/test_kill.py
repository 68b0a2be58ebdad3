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
