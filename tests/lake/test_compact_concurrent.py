"""Two ``seqledger lake compact`` at once: one compacts, the other waits or skips cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lake.settings import Settings
from lake.store import LakeStore

SEQLEDGER = str(Path(sys.executable).parent / "seqledger")
AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def small_files(settings: Settings, n: int) -> None:
    store = LakeStore(settings)
    for i in range(n):
        store.write("runs", [{"run_id": f"r{i:04d}", "status": "DISPATCHED",
                              "status_at": AT + timedelta(minutes=i)}])


def compact(lake: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([SEQLEDGER, "lake", "compact", "--table", "runs", *extra],
                            env={**os.environ, "SEQLEDGER_LAKE": lake},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# Each process, about to read the partition it compacts, waits (up to 10 s) for the other to
# get there too: the overlap two compactions hit by chance, made certain.
_MEET = """
import os, sys, time
from pathlib import Path
from lake.store import LakeStore
folder, real, met = Path(os.environ["MEET_DIR"]), LakeStore.read, []
def read(self, *a, **k):
    if not met:
        met.append(1)
        folder.mkdir(exist_ok=True)
        (folder / str(os.getpid())).touch()
        deadline = time.monotonic() + 10
        while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    return real(self, *a, **k)
LakeStore.read = read
from seqledger.cli import main
sys.argv = ["seqledger", *sys.argv[1:]]
main()
"""


def test_two_compactions_at_once_one_waits_and_nothing_is_lost(lake_settings, tmp_path):
    small_files(lake_settings, 60)
    env = {**os.environ, "SEQLEDGER_LAKE": lake_settings.lake_uri,
           "MEET_DIR": str(tmp_path / "meet")}
    procs = [subprocess.Popen([sys.executable, "-c", _MEET, "lake", "compact", "--table", "runs"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(300), *p.communicate()) for p in procs]
    for code, _, err in results:
        assert code == 0 and "Traceback" not in err, err
    outs = sorted(out for _, out, _ in results)
    assert outs[1].startswith("runs 2026-05: 60 files -> 1")  # the one that compacted
    store = LakeStore(lake_settings)
    assert len(store.files("runs")) == 1
    assert store.read("runs").num_rows == 60
    assert not list(Path(lake_settings.lake_uri, "_locks").rglob("*.lock"))  # released


def test_a_compaction_held_too_long_is_skipped_with_a_message(lake_settings):
    from lake.claims import ClaimStore

    small_files(lake_settings, 3)
    holder = ClaimStore.for_settings(lake_settings, owner="ops-host:4242:abcd")
    with holder.lock("compact/runs/month=2026-05", wait_s=0):
        proc = compact(lake_settings.lake_uri, "--wait", "0.5")
        code, (_, err) = proc.wait(120), proc.communicate()
    assert code == 75
    assert err.strip().startswith("skipped runs 2026-05: being compacted by ops-host:4242:abcd")
    assert "Traceback" not in err
    assert len(LakeStore(lake_settings).files("runs")) == 3  # untouched
    proc = compact(lake_settings.lake_uri)  # once the other is done
    assert proc.wait(120) == 0
    assert len(LakeStore(lake_settings).files("runs")) == 1
