"""``seqledger ingest event`` as a process: exit codes, the operator's summary, one clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import object_created
from tests.seqledger.cli_env import cli_env

AT = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SEQLEDGER = str(Path(sys.executable).parent / "seqledger")


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path)


def _files(folder: Path, keys: list[str], envelope: str = "sns") -> list[str]:
    folder.mkdir(exist_ok=True)
    paths = []
    for n, key in enumerate(keys):
        size = 100 if "TINY" in key else 40 * 10**9
        event = object_created(envelope, "in", key, size, f"etag-{n}-{key}", AT, f"{n:016X}")
        path = folder / f"{n:03d}.json"
        path.write_text(json.dumps(event))
        paths.append(str(path))
    return paths


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SEQLEDGER, "ingest", "event", *args], env=env, capture_output=True,
                          text=True, timeout=300)


STREAM = ["cardio/2026-11-20/S1/S1_S1_L001_R1_001.fastq.gz",
          "cardio/2026-11-20/S1/S1_S1_L001_R2_001.fastq.gz",
          "cardio/2026-11-20/S1/S1_S1_L001_R1_001.fastq.gz.md5",
          "cardio/2026-11-20/S1/S1_S1_L001_I1_001.fastq.gz",
          "cardio/2026-11-20/README.txt",
          "cardio/2026-11-20/SampleSheet.csv"]


def test_a_realistic_stream_exits_0_and_says_what_it_did(env, tmp_path):
    files = _files(tmp_path / "events", STREAM)
    first = _run(env, *files)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert "objects: 6 new, 0 already known (6 event payloads)" in lines
    assert "non-inputs recorded: 4" in lines
    assert "samples dispatched: 1" in lines and any(" cardio/S1 -> run " in x for x in lines)
    assert "samples waiting for a mate: 0" in lines
    finished = [x for x in lines if x.startswith(("runs finished", "runs given up"))]
    assert sum(int(x.rsplit(" ", 1)[1]) for x in finished) == 1
    assert "inputs quarantined or refused: 0" in lines
    assert LakeStore(Settings(lake_uri=env["SEQLEDGER_LAKE"])).read("quarantine").num_rows == 0
    # the same files again: known objects, nothing new, nothing done twice
    again = _run(env, *files)
    assert again.returncode == 0, again.stderr
    assert "objects: 0 new, 6 already known (6 event payloads)" in again.stdout.splitlines()
    assert "samples dispatched: 0" in again.stdout.splitlines()


def test_what_cannot_be_processed_exits_1_and_is_named(env, tmp_path):
    files = _files(tmp_path / "events", ["cardio/S2/S2_S1_L002_R1_001.fastq.gz",
                                         "cardio/S3/S3_single.fastq.gz"])
    bad = tmp_path / "events" / "truncated.json"
    bad.write_text('{"Records": [')
    out = _run(env, *files, str(bad))
    assert out.returncode == 1
    assert "samples waiting for a mate: 1" in out.stdout
    assert "cardio/S2 (fastq): missing R2 of lane L002" in out.stdout
    assert "truncated.json" in out.stderr and "S3_single.fastq.gz" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_missing_file_is_a_usage_error_not_a_quarantined_event(env, tmp_path):
    files = _files(tmp_path / "events", STREAM[:2])
    out = _run(env, *files, str(tmp_path / "nope.json"))
    assert out.returncode == 2
    assert "nope.json" in out.stderr and "does not exist" in out.stderr
    store = LakeStore(Settings(lake_uri=env["SEQLEDGER_LAKE"]))
    assert store.read("quarantine").num_rows == 0 and store.read("arrivals").num_rows == 0


def test_the_simulated_executor_records_every_row_on_the_events_clock(env, tmp_path):
    from analytics.engine import connect

    files = _files(tmp_path / "events", [f"cardio/{s}/{s}_{m}.fastq.gz" for s in ("S4", "S5")
                                         for m in ("R1", "R2")])
    out = _run(env, *files)
    assert out.returncode == 0, out.stdout + out.stderr
    settings = Settings(lake_uri=env["SEQLEDGER_LAKE"])
    store = LakeStore(settings)
    runs = store.read("runs").to_pylist()
    assert {r["status_at"] for r in runs if r["status"] == "DISPATCHED"} == {AT}
    attempts = store.read("job_attempts").to_pylist()
    assert min(a["status_at"] for a in attempts) == AT  # the first SUBMITTED, at the batch time
    con = connect(settings)
    assert {s for (s,) in con.execute("SELECT status FROM run_latest").fetchall()} <= {
        "SUCCEEDED", "FAILED"}
    waits = con.execute("""
        SELECT min(r.status_at - s.status_at) FROM job_attempts s JOIN job_attempts r
        ON s.job_id = r.job_id AND s.status = 'SUBMITTED' AND r.status = 'RUNNING'""").fetchone()
    assert waits[0].total_seconds() >= 0
    months = {m for (m,) in con.execute("SELECT DISTINCT month FROM costs").fetchall()}
    assert months == {"2026-11"}


def test_files_processed_in_batches_give_the_lake_one_batch_gives(env, tmp_path, monkeypatch):
    """Mates in different batches still make one run; every table holds the same rows."""
    from click.testing import CliRunner

    from seqledger.cli import main  # first: it registers the command modules

    events = sys.modules["seqledger.commands.events"]

    files = _files(tmp_path / "events", STREAM)
    lakes = {}
    for size in (1, 1000):
        monkeypatch.setattr(events, "FILES_PER_BATCH", size)
        lake = tmp_path / f"lake-{size}"
        result = CliRunner().invoke(main, ["ingest", "event", *files],
                                    env={**env, "SEQLEDGER_LAKE": str(lake)})
        assert result.exit_code == 0, result.output
        store = LakeStore(Settings(lake_uri=str(lake)))
        lakes[size] = {name: sorted(json.dumps({k: v for k, v in r.items()
                                                if k not in ("recorded_at", "job_id")},
                                               default=str, sort_keys=True)
                                    for r in store.read(name).to_pylist())
                       for name in ("arrivals", "runs", "job_attempts", "decisions")}
    runs = {json.loads(r)["run_id"] for r in lakes[1]["runs"]}
    assert len(runs) == 1 and len(lakes[1]["arrivals"]) == len(STREAM)
    assert lakes[1] == lakes[1000]


def test_progress_is_shown_on_stderr_when_asked(env, tmp_path):
    files = _files(tmp_path / "ev", ["cardio/S1/S1_R1.fastq.gz", "cardio/S1/S1_R2.fastq.gz"])
    out = subprocess.run([SEQLEDGER, "ingest", "event", "--no-follow", "--progress", *files],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "events: 2 files [" in out.stderr and " files/s]" in out.stderr
    quiet = subprocess.run([SEQLEDGER, "ingest", "event", "--no-follow", *files], env=env,
                           capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""  # not a terminal: no bar by default
