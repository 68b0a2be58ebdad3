"""``ingest_folder`` reads local folders and s3:// prefixes, and never stops a batch of runs."""

from __future__ import annotations

import pytest

from ingest.dragen.service import ingest_folder
from lake.store import LakeStore
from tests.ingest.dragen.conftest import RUN_AT, read_folder


def test_a_missing_folder_is_quarantined_not_raised(lake_settings, tmp_path) -> None:
    store = LakeStore(lake_settings)
    summary = ingest_folder(store, tmp_path / "nowhere", sample_id="S", run_id="R", run_at=RUN_AT)
    assert (summary.rows, summary.quarantined) == ({}, 1)
    (q,) = store.read("quarantine").to_pylist()
    assert q["source"].endswith("nowhere") and q["reason"] == "run folder not found"


def test_a_copied_folder_is_not_dated_by_its_modification_times(lake_settings, tmp_path,
                                                               dragen_ref) -> None:
    import os

    for name, data in read_folder(dragen_ref / "TEST").items():
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, (1_710_000_000, 1_710_000_000))
    (tmp_path / "TEST.bam").write_bytes(b"BAM\x01")
    store = LakeStore(lake_settings)
    undated = ingest_folder(store, f"file://{tmp_path}", sample_id="S", run_id="R")
    assert undated.rows == {} and undated.quarantined == 1
    assert undated.error.startswith("no run date") and "--run-at" in undated.error
    assert store.read("qc_metrics").num_rows == 0
    dated = ingest_folder(store, f"file://{tmp_path}", sample_id="S", run_id="R", run_at=RUN_AT)
    assert dated.run_at == RUN_AT and dated.rows["qc_metrics"] > 0
    assert next(f for f in dated.files if f.name == "TEST.bam").skipped


@pytest.mark.integration
def test_ingest_from_an_s3_prefix(s3_settings, dragen_ref) -> None:
    store = LakeStore(s3_settings)
    prefix = s3_settings.lake_uri.removeprefix("s3://") + "-runs/run-1/dragen"
    for name, data in read_folder(dragen_ref / "T_SRR7890936_50pc").items():
        with store.fs.open_output_stream(f"{prefix}/{name}") as out:
            out.write(data)
    summary = ingest_folder(store, f"s3://{prefix}", sample_id="T1", run_id="run-1",
                            run_at=RUN_AT)
    assert summary.dragen_version == "05.021.335.3.5.2"
    assert summary.rows == {"qc_metrics": 887, "qc_histograms": 80453, "qc_contig_coverage": 912}
    assert store.read("qc_metrics").num_rows == 887
    again = ingest_folder(store, f"s3://{prefix}/", sample_id="T1", run_id="run-1", run_at=RUN_AT)
    assert sum(again.rows_written.values()) == 0


def test_local_folders_resolve_as_path_resolve_does(tmp_path, monkeypatch) -> None:
    """The batch's folder lookup gives ``Path.resolve``'s spelling (the quarantine key) and
    whether the folder is there, through links, missing parents, files, ``..`` and relative
    paths."""
    import os
    from pathlib import Path

    from ingest.dragen.service import LocalFolders

    (tmp_path / "out" / "p" / "s" / "r" / "attempt-1").mkdir(parents=True)
    (tmp_path / "out" / "p" / "file").write_text("x")
    os.symlink(tmp_path / "out", tmp_path / "linked")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    os.symlink(tmp_path / "out" / "p" / "s", tmp_path / "out" / "p" / "s-link")
    monkeypatch.chdir(tmp_path / "out")
    folders = [f"{tmp_path}/out/p/s/r/attempt-1/", f"{tmp_path}/out/p/s/r/attempt-2/",
               f"{tmp_path}/nowhere/p/s/r/attempt-1/", f"{tmp_path}/linked/p/s/r/attempt-1",
               f"{tmp_path}/linked/p/s/r/attempt-9", f"{tmp_path}/dangling/r",
               f"{tmp_path}/dangling", f"{tmp_path}/out/p/s-link/r/attempt-1",
               f"{tmp_path}/out/p/file", f"{tmp_path}/out/p/file/r",
               f"{tmp_path}/out/p/s-link/../s/r", "p/s/r/attempt-1", "p/missing/r", "../out/p",
               f"{tmp_path}//out/./p/s"]
    local = LocalFolders()
    for folder in folders * 2:  # twice: the second time from what was seen
        expected = Path(folder).resolve()
        assert local.resolve(folder) == (str(expected), expected.exists()), folder
    assert sum(local.resolve(f)[1] for f in folders) == 8


def test_a_batch_refuses_missing_folders_with_the_same_row(lake_settings, tmp_path) -> None:
    """Looked up through the batch's ``LocalFolders``, a missing folder is refused with the
    quarantine row a lone ``ingest_folder`` call makes, and a present one is read as before."""
    from ingest.dragen.service import LocalFolders

    (tmp_path / "empty").mkdir()
    alone, batched = LakeStore(lake_settings), []
    local = LocalFolders()
    for folder in (tmp_path / "nowhere" / "a", tmp_path / "nowhere" / "b", tmp_path / "empty"):
        summary = ingest_folder(alone, folder, sample_id="S", run_id="R", run_at=RUN_AT)
        again = ingest_folder(alone, folder, sample_id="S", run_id="R", run_at=RUN_AT,
                              write=lambda name, rows: batched.extend(rows), local=local)
        assert (again.error, again.quarantined) == (summary.error, summary.quarantined)
    rows = alone.read("quarantine").to_pylist()
    assert sorted((r["quarantine_id"], r["source"], r["reason"]) for r in rows) == \
        sorted((r["quarantine_id"], r["source"], r["reason"]) for r in batched)
    assert [r["reason"] for r in batched] == ["run folder not found"] * 2  # "empty" is read
