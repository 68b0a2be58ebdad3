"""A batch's runs that wrote no outputs: their folders found absent by one look, and refused
with the row a look at each one gives."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.dragen.service import LocalFolders, ingest_folder
from ingest.results import absent_folders
from lake.store import LakeStore
from tests.ingest.dragen.conftest import RUN_AT


def test_folders_under_a_missing_prefix_are_absent_and_resolved_as_path_resolve(
        tmp_path, monkeypatch) -> None:
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    monkeypatch.chdir(tmp_path)
    folders = [f"{tmp_path}/dangling/out/p/S1/r1/attempt-1/", f"{tmp_path}/dangling/out/p/S2/r2",
               f"file://{tmp_path}/dangling/out/p/S3/r3/", "dangling/out/q/S4/r4"]
    found = absent_folders(LocalFolders(), [*folders, "s3://bucket/out/p/S5/r5/"])
    assert found == {f: str(Path(f.removeprefix("file://")).resolve()) for f in folders}
    assert found[folders[1]] == f"{tmp_path}/gone/out/p/S2/r2"


def test_nothing_is_named_when_the_prefix_is_there_or_a_path_climbs(tmp_path) -> None:
    (tmp_path / "out" / "p").mkdir(parents=True)
    local = LocalFolders()
    assert absent_folders(local, [f"{tmp_path}/out/p/S1/r1", f"{tmp_path}/out/p/S2/r2"]) == {}
    assert absent_folders(local, [f"{tmp_path}/none/S1/r1", f"{tmp_path}/out/S2/r2"]) == {}
    assert absent_folders(local, [f"{tmp_path}/none/../none/S1"]) == {}
    assert absent_folders(local, ["s3://bucket/out/S1/r1"]) == {}
    one = f"{tmp_path}/none/S1/r1/"
    assert absent_folders(local, [one]) == {one: f"{tmp_path}/none/S1/r1"}


def test_an_absent_folder_is_refused_with_the_row_a_look_gives(lake_settings, tmp_path) -> None:
    looked, told = [], []
    folder = f"{tmp_path}/nowhere/S1/r1/"
    (resolved,) = absent_folders(LocalFolders(), [folder]).values()
    store = LakeStore(lake_settings)
    a = ingest_folder(store, folder, sample_id="S1", run_id="r1", run_at=RUN_AT,
                      write=lambda name, rows: looked.extend(rows), local=LocalFolders())
    b = ingest_folder(store, folder, sample_id="S1", run_id="r1", run_at=RUN_AT,
                      write=lambda name, rows: told.extend(rows), absent=resolved)
    assert told == looked and len(told) == 1
    assert (told[0]["source"], told[0]["reason"]) == (resolved, "run folder not found")
    assert b == a
    assert (b.error, b.quarantined, b.rows) == ("run folder not found", 1, {})
