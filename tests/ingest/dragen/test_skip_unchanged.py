"""A second bulk call skips unchanged runs from their files' stamps, without reading a byte,
and still reads (and reloads when new) a run whose files changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.dragen import bulk
from lake.settings import Settings
from lake.store import LakeStore
from tests.ingest.dragen.test_bulk import month  # noqa: F401 - the five-run fixture

RUN_AT = bulk.datetime.fromisoformat("2025-03-01T00:00:00+00:00")


def load(settings: Settings, root: Path) -> bulk.BulkSummary:
    store = LakeStore(settings)
    found, _ = bulk.discover(store, [root])
    jobs, refused = bulk.plan(found, mapping=None, pattern=None, run_at=RUN_AT)
    assert not refused
    return bulk.ingest_runs(store, jobs, workers=1)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The run folders whose files the call read (``read_run``), in order."""
    seen: list[str] = []
    real = bulk.read_run

    def counting(fs, run):
        seen.append(run.label)
        return real(fs, run)

    monkeypatch.setattr(bulk, "read_run", counting)
    return seen


def statuses(summary: bulk.BulkSummary) -> dict[str, str]:
    return {r.label.rsplit("/", 1)[-1]: r.status for r in summary.runs}


def test_unchanged_runs_are_skipped_without_reading_their_files(
        month: Path, lake_settings: Settings, reads: list[str]) -> None:  # noqa: F811
    first = load(lake_settings, month)
    assert statuses(first) == dict.fromkeys("ABCDE", "loaded")
    assert len(reads) == 5
    reads.clear()
    second = load(lake_settings, month)
    assert statuses(second) == dict.fromkeys("ABCDE", "skipped")
    assert reads == []  # not one file opened
    assert {(r.sample_id, r.run_id) for r in second.runs} == \
        {(r.sample_id, r.run_id) for r in first.runs}
    assert second.files_written == 0


def test_a_changed_file_is_read_and_its_run_loaded_again(
        month: Path, lake_settings: Settings, reads: list[str]) -> None:  # noqa: F811
    first = {r.label.rsplit("/", 1)[-1]: r.run_id for r in load(lake_settings, month).runs}
    path = month / "b1" / "A" / "A.mapping_metrics.csv"
    data = path.read_bytes()
    i = data.index(b",1")  # the same size, one digit changed: a new content
    path.write_bytes(data[:i + 1] + b"2" + data[i + 2:])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    reads.clear()
    second = load(lake_settings, month)
    assert reads == ["b1/A/A"]  # only the changed run is read
    assert statuses(second) == {"A": "loaded", **dict.fromkeys("BCDE", "skipped")}
    new_id = next(r.run_id for r in second.runs if r.status == "loaded")
    assert new_id != first["A"] and new_id.startswith("A")  # a re-analysis is another run
    ids = set(LakeStore(lake_settings).read("qc_metrics").column("run_id").to_pylist())
    assert {first["A"], new_id} <= ids


def test_a_touched_file_is_hashed_once_then_skipped_unread(
        month: Path, lake_settings: Settings, reads: list[str]) -> None:  # noqa: F811
    load(lake_settings, month)
    path = month / "b2" / "multi" / "C.vc_metrics.csv"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same bytes
    reads.clear()
    second = load(lake_settings, month)
    assert reads == ["b2/multi/C"]  # its stamp changed: read and hashed, the same content
    assert statuses(second) == dict.fromkeys("ABCDE", "skipped")
    reads.clear()
    assert statuses(load(lake_settings, month)) == dict.fromkeys("ABCDE", "skipped")
    assert reads == []  # the new stamp was recorded


def test_a_run_loaded_under_a_mapping_id_is_not_skipped_by_its_stamp_without_one(
        month: Path, lake_settings: Settings, tmp_path: Path, reads: list[str]) -> None:  # noqa: F811
    from ingest.dragen.ids import IdMapping

    store = LakeStore(lake_settings)
    found, _ = bulk.discover(store, [month])
    mapping = IdMapping.from_csv("folder,sample_id,run_id,run_date\nb1/A,SA,RUN-A,\n", "m.csv")
    jobs, _ = bulk.plan([f for f in found if f[2].label == "b1/A/A"], mapping=mapping,
                        pattern=None, run_at=RUN_AT)
    assert statuses(bulk.ingest_runs(store, jobs, workers=1)) == {"A": "loaded"}
    reads.clear()
    again = load(lake_settings, month)  # ids from the files now: another run id
    assert "b1/A/A" in reads
    assert statuses(again)["A"] == "loaded"
