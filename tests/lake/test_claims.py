"""Claims and locks: exactly one creator wins, on a local folder and on a real S3 server."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lake.claims import ClaimStore, LocalFiles, S3Files

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)

_RACE = """
import sys
from datetime import UTC, datetime
from lake.claims import ClaimStore
store = ClaimStore.for_settings(__import__("lake.settings").settings.Settings(lake_uri=sys.argv[1]))
state = store.acquire("run-1", 1, "run-1-a1", datetime(2026, 5, 4, tzinfo=UTC))
print("won" if state.won else "lost", flush=True)
"""


def test_one_of_four_processes_wins_a_claim_on_a_local_folder(tmp_path):
    lake = tmp_path / "lake"
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(lake)], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    answers = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert answers == ["lost", "lost", "lost", "won"]
    claim = json.loads((lake / "_claims" / "run-1" / "a1.json").read_text())
    assert claim["job_name"] == "run-1-a1" and claim["generation"] == 0
    assert not list((lake / "_claims" / "run-1").glob("*.tmp"))  # private names cleaned up


def test_a_claim_records_who_when_and_its_job(tmp_path):
    clock = iter([AT, AT + timedelta(seconds=1), AT + timedelta(seconds=2)])
    store = ClaimStore(LocalFiles(), str(tmp_path), owner="host:1:ab", clock=lambda: next(clock))
    state = store.acquire("r", 2, "r-a2", AT)
    assert state.won and state.claim.claimed_by == "host:1:ab"
    assert state.claim.claimed_at == AT
    other = ClaimStore(LocalFiles(), str(tmp_path), owner="host:2:cd").acquire("r", 2, "r-a2", AT)
    assert not other.won and other.claim.claimed_by == "host:1:ab" and other.job_id is None
    assert store.record_job("r", 2, "job-1") == "job-1"
    assert store.record_job("r", 2, "job-2") == "job-1"  # the first job recorded stays
    assert store.current("r", 2).job_id == "job-1"


def test_the_takeover_rule(tmp_path):
    now = [AT]
    store = ClaimStore(LocalFiles(), str(tmp_path), owner="elsewhere:1:x", clock=lambda: now[0],
                       takeover_after=timedelta(minutes=20))
    store.acquire("r", 1, "r-a1", AT)
    held = store.current("r", 1)
    assert not store.can_take_over(held)  # young, holder on another host: wait
    now[0] = AT + timedelta(minutes=20)
    assert store.can_take_over(store.current("r", 1))  # old enough
    now[0] = AT

    # a holder on this host whose process is gone: at once
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = ClaimStore(LocalFiles(), str(tmp_path), owner=f"{socket.gethostname()}:{dead.pid}:y",
                      clock=lambda: now[0])
    gone.acquire("r", 2, "r-a2", AT)
    assert store.can_take_over(store.current("r", 2))

    # released after a failed submission: at once; two takers race, one wins
    store.acquire("r", 3, "r-a3", AT)
    store.release(store.current("r", 3).claim, "SubmitJob throttled")
    state = store.current("r", 3)
    assert state.released and store.can_take_over(state)
    first, second = store.take_over(state), store.take_over(state)
    assert first.won and first.claim.generation == 1 and not second.won
    assert store.current("r", 3).claim.generation == 1

    # a claim with a job is never taken over
    store.record_job("r", 1, "job-9")
    now[0] = AT + timedelta(days=1)
    assert not store.can_take_over(store.current("r", 1))


def test_a_lock_is_held_once_and_a_stale_one_is_broken(tmp_path):
    now = [AT]
    a = ClaimStore(LocalFiles(), str(tmp_path), owner="elsewhere:1:a", clock=lambda: now[0])
    b = ClaimStore(LocalFiles(), str(tmp_path), owner="elsewhere:2:b", clock=lambda: now[0])
    lock = a.lock("compact-runs-2026-05", wait_s=0)
    assert lock is not None
    assert b.lock("compact-runs-2026-05", wait_s=0.3, poll_s=0.05) is None
    assert b.lock_holder("compact-runs-2026-05") == ("elsewhere:1:a", AT)
    now[0] = AT + timedelta(hours=2)  # a holder that died hours ago
    assert b.lock("compact-runs-2026-05", wait_s=0) is not None
    lock.release()  # deleting a lock that was broken and taken is harmless


@pytest.mark.integration
def test_seaweedfs_enforces_if_none_match_under_a_race(s3_settings):
    """SeaweedFS 4.48 answers 412 to every conditional PutObject but the first."""
    files = S3Files(s3_settings)
    root = s3_settings.lake_uri[len("s3://"):]
    path = f"{root}/_claims/run-9/a1.json"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: files.create(path, f'{{"n": {i}}}'.encode()), range(32)))
    assert won.count(True) == 1
    winner = won.index(True)
    assert json.loads(files.read(path)) == {"n": winner}
    assert files.read(f"{root}/_claims/run-9/a2.json") is None

    store = ClaimStore(files, root, owner="lambda-a")
    assert store.acquire("run-8", 1, "run-8-a1", AT).won
    other = ClaimStore(files, root, owner="lambda-b").acquire("run-8", 1, "run-8-a1", AT)
    assert not other.won and other.claim.claimed_by == "lambda-a"
    assert store.record_job("run-8", 1, "j1") == "j1"
    assert ClaimStore(files, root).record_job("run-8", 1, "j2") == "j1"


def test_claims_live_beside_the_tables_not_in_them(tmp_path, lake_settings):
    from lake.store import LakeStore

    store = ClaimStore.for_settings(lake_settings)
    store.acquire("r", 1, "r-a1", AT)
    assert Path(lake_settings.lake_uri, "_claims", "r", "a1.json").is_file()
    assert LakeStore(lake_settings).files("runs") == []


def test_a_batch_of_claims_is_durable_after_two_barriers_not_two_fsyncs_each(tmp_path,
                                                                              monkeypatch):
    import lake.claims as claims_module

    barriers, fsyncs = [], []
    real_barrier, real_fsync = claims_module._barrier, claims_module.os.fsync
    monkeypatch.setattr(claims_module, "_barrier",
                        lambda fn, path: barriers.append(path) or real_barrier(fn, path))
    monkeypatch.setattr(claims_module.os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))
    ClaimStore(LocalFiles(), str(tmp_path), owner="host:9:zz").acquire("r3", 1, "r3-a1", AT)
    fsyncs.clear()
    store = ClaimStore(LocalFiles(), str(tmp_path), owner="host:1:ab", clock=lambda: AT)
    states = store.acquire_many([(f"r{i}", 1, f"r{i}-a1", AT) for i in range(6)])
    assert [s.won for s in states] == [True, True, True, False, True, True]
    assert states[3].claim.claimed_by == "host:9:zz"  # the earlier claimer, as acquire says
    assert (len(barriers), fsyncs) == (2, [])
    body = json.loads((tmp_path / "_claims" / "r5" / "a1.json").read_text())
    assert (body["run_id"], body["job_name"], body["claimed_by"]) == ("r5", "r5-a1", "host:1:ab")
    assert not list((tmp_path / "_claims").rglob("*.tmp"))
    assert store.record_job("r1", 1, "job-early") == "job-early"
    recorded = store.record_jobs([(f"r{i}", 1, f"job-{i}") for i in (0, 1, 2)])
    assert recorded == ["job-0", "job-early", "job-2"]  # the first job recorded stays
    assert len(barriers) == 4 and store.current("r2", 1).job_id == "job-2"
