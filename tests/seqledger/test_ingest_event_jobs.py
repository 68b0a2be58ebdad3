"""``seqledger ingest event --jobs 2`` against ``--jobs 1``: the same rows, report and exit
status on a stream with everything a replay holds, read from a folder."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import object_created
from tests.seqledger.cli_env import cli_env

AT = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SEQLEDGER = str(Path(sys.executable).parent / "seqledger")
TABLES = ("arrivals", "runs", "job_attempts", "decisions", "costs", "instances", "quarantine")


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path, "scratch-lake", SEQLEDGER_EXECUTOR="simulated")


def _stream(env: dict[str, str], folder: Path, samples: int) -> dict[str, int]:
    """Event files for ``samples`` samples in ``folder`` (sub-folders of 100 files): their
    arrivals, then every job-state and instance event the simulated executor delivers when the
    runs are tracked to the end on a scratch lake (the resubmitted attempts' too), 20% of them
    delivered twice and each displaced up to 40 places; and a file that is not an event."""
    from ingest.assembly import build_event_service

    settings = Settings.from_env(env)
    service = build_event_service(settings, now=AT)
    service.event_clock = True
    arrivals = [object_created("eventbridge", "in", f"cardio/S{i}/S{i}_{m}.fastq.gz",
                               40 * 10**9, f"etag-{i}-{m}", AT + timedelta(seconds=i),
                               f"{i:08X}{k:08X}")
                for i in range(samples) for k, m in enumerate(("R1", "R2"))]
    service.process([(f"a{n}", a) for n, a in enumerate(arrivals)], now=AT)
    sim, events = service.runner.executor, []
    while (at := sim.next_event_at()) is not None:
        batch = sim.advance(at + timedelta(minutes=30))
        events += batch
        service.process([(f"batch:{e['id']}", e) for e in batch], now=at)
    rng = random.Random(7)
    again = rng.sample(range(len(events)), len(events) // 5)
    placed = sorted((i + rng.uniform(0, 40), i) for i in [*range(len(events)), *again])
    docs = arrivals + [events[i] for _, i in placed]
    for n, doc in enumerate(docs):
        path = folder / f"{n // 100:03d}" / f"{n:06d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2))
    (folder / "000" / "000050-bad.json").write_text('{"Records": [')
    (folder / ".partial.json").write_text("not read: a hidden file")
    kinds = {"jobs": sum(e.get("detail-type") == "Batch Job State Change" for e in events),
             "instances": sum(e.get("detail-type", "").startswith("EC2") for e in events)}
    kinds["resubmitted"] = len({e["detail"]["jobName"] for e in events if
                                e.get("detail-type") == "Batch Job State Change"
                                and not e["detail"]["jobName"].endswith("-a1")})
    return kinds


def _rows(lake: Path) -> dict[str, list[str]]:
    """Every table's rows, less what differs by process (when a row was written)."""
    store = LakeStore(Settings(lake_uri=str(lake)))
    out = {}
    for name in TABLES:
        try:
            rows = store.read(name).to_pylist()
        except FileNotFoundError:
            rows = []
        out[name] = sorted(json.dumps({k: v for k, v in r.items() if k not in (
            "recorded_at", "quarantined_at", "ingested_at")}, default=str, sort_keys=True)
            for r in rows)
    return out


def test_two_processes_land_the_rows_one_process_lands(env, tmp_path):
    events = tmp_path / "events"
    kinds = _stream(env, events, 24)
    assert kinds["resubmitted"] >= 1 and kinds["instances"] >= 1  # the stream has them
    pristine = tmp_path / "out-pristine"
    shutil.copytree(env["SEQLEDGER_OUTPUT_PREFIX"], pristine)  # the jobs' DRAGEN outputs
    runs = {}
    for jobs in ("1", "2"):
        shutil.rmtree(env["SEQLEDGER_OUTPUT_PREFIX"])
        shutil.copytree(pristine, env["SEQLEDGER_OUTPUT_PREFIX"])
        lake = tmp_path / f"lake-{jobs}"
        runs[jobs] = subprocess.run(
            [SEQLEDGER, "ingest", "event", "--no-follow", "--jobs", jobs, str(events)],
            env={**env, "SEQLEDGER_LAKE": str(lake)}, capture_output=True, text=True,
            timeout=600)
    one, two = runs["1"], runs["2"]
    assert one.returncode == 1, one.stdout + one.stderr  # the bad file, named
    assert "000050-bad.json" in one.stderr and ".partial" not in one.stdout + one.stderr
    assert (two.returncode, two.stdout.replace("lake-2", "lake-1"), two.stderr) == (
        one.returncode, one.stdout, one.stderr)
    lines = one.stdout.splitlines()
    assert "samples dispatched: 24" in lines
    assert "runs finished: 23" in lines and "runs given up: 1" in lines, one.stdout
    one_rows, two_rows = _rows(tmp_path / "lake-1"), _rows(tmp_path / "lake-2")
    assert len(one_rows["runs"]) > 24 * 2 and len(one_rows["instances"]) > 0
    assert len(one_rows["quarantine"]) == 1  # the bad file; the redeliveries change nothing
    # The simulator answers DescribeInstances for the jobs its own process submitted, so the
    # instances of jobs resubmitted by worker 1 have no describe-instances row when worker 0
    # records their launch (ingest.parallel): the same instances and states, fewer attributes.
    # (AWS answers any process: on Batch the rows are the same.)
    assert {**two_rows, "instances": []} == {**one_rows, "instances": []}
    assert _states(two_rows) == _states(one_rows)


def _states(rows: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(r["instance_id"], r["state"]) for r in map(json.loads, rows["instances"])}


def test_a_folder_is_read_whole_in_name_order(env, tmp_path):
    """Mates in two sub-folders and a hidden file: one run, the hidden file never read."""
    folder = tmp_path / "month"
    for day, mate in (("01", "R1"), ("02", "R2")):
        doc = object_created("sns", "in", f"cardio/S9/S9_{mate}.fastq.gz", 40 * 10**9,
                             f"etag-{mate}", AT, f"{day:0>16}")
        (folder / day).mkdir(parents=True)
        (folder / day / "event.json").write_text(json.dumps(doc))
    (folder / "02" / ".event.json.partial").write_text("{")
    out = subprocess.run([SEQLEDGER, "ingest", "event", "--no-follow", str(folder)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "objects: 2 new, 0 already known (2 event payloads)" in out.stdout
    assert "samples dispatched: 1" in out.stdout


def test_a_folder_without_event_files_is_said_on_stderr_and_is_no_error(env, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / ".partial").write_text("{")
    out = subprocess.run([SEQLEDGER, "ingest", "event", "--no-follow", str(folder)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr == f'no event files in {folder} (names starting with "." are skipped)\n'
    assert "(0 event payloads)" in out.stdout


def test_runs_in_flight_across_batches_stay_with_their_worker(env, tmp_path, monkeypatch):
    """Batches of 45 files: a run's events span several batches, its worker remembers it."""
    from click.testing import CliRunner

    from seqledger.cli import main  # first: it registers the command modules

    events = tmp_path / "events"
    _stream(env, events, 10)
    monkeypatch.setattr(sys.modules["seqledger.commands.events"], "FILES_PER_BATCH", 45)
    pristine = tmp_path / "out-pristine"
    shutil.copytree(env["SEQLEDGER_OUTPUT_PREFIX"], pristine)
    results, rows = {}, {}
    for jobs in ("1", "2"):
        shutil.rmtree(env["SEQLEDGER_OUTPUT_PREFIX"])
        shutil.copytree(pristine, env["SEQLEDGER_OUTPUT_PREFIX"])
        lake = tmp_path / f"lake-{jobs}"
        results[jobs] = CliRunner().invoke(
            main, ["ingest", "event", "--no-follow", "--jobs", jobs, str(events)],
            env={**env, "SEQLEDGER_LAKE": str(lake)})
        rows[jobs] = _rows(lake)
    assert results["1"].exit_code == results["2"].exit_code == 1, results["1"].output
    assert results["2"].output.replace("lake-2", "lake-1") == results["1"].output
    lines = results["1"].output.splitlines()
    assert "runs finished: 9" in lines and "runs given up: 1" in lines  # 3 batches
    assert {**rows["2"], "instances": []} == {**rows["1"], "instances": []}


_KILLED = """
import os, sys
from lake.store import LakeStore
real = LakeStore.write
def write(self, name, rows, recorded_at=None):
    if name == "decisions":  # in a worker, tracking: as kill -9, nothing flushed
        os._exit(137)
    return real(self, name, rows, recorded_at)
LakeStore.write = write
from seqledger.cli import main
sys.argv = ["seqledger", *sys.argv[1:]]
main()
"""


def test_a_killed_worker_ends_the_command_as_killed_and_a_rerun_finishes(env, tmp_path):
    events = tmp_path / "events"
    _stream(env, events, 8)
    args = ["ingest", "event", "--no-follow", "--jobs", "2", str(events)]
    clean = subprocess.run([SEQLEDGER, *args], env={**env, "SEQLEDGER_LAKE": str(tmp_path / "a")},
                           capture_output=True, text=True, timeout=300)
    env = {**env, "SEQLEDGER_LAKE": str(tmp_path / "b")}
    killed = subprocess.run([sys.executable, "-c", _KILLED, *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == 137, killed.stderr
    assert "event worker" in killed.stderr and "run the same files again" in killed.stderr
    rerun = subprocess.run([SEQLEDGER, *args], env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == clean.returncode == 1, rerun.stderr  # the bad file
    finished = [line for line in clean.stdout.splitlines() if line.startswith("runs ")]
    assert finished == [line for line in rerun.stdout.splitlines() if line.startswith("runs ")]
    assert _rows(tmp_path / "b")["decisions"] == _rows(tmp_path / "a")["decisions"]
