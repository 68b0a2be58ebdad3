"""A batch's runs that wrote no outputs: their folders found absent by one look at the prefix
they share (``absent_folders``, ``LocalFolders``), and refused by ``ingest_folder`` with the row
a listing gives, without listing them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ingest.dragen.service as dragen_service
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


def test_folders_under_a_missing_prefix_are_missing_and_resolved_as_path_resolve(
        tmp_path, monkeypatch) -> None:
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    monkeypatch.chdir(tmp_path)
    folders = [f"{tmp_path}/dangling/out/p/S1/r1/attempt-1/", f"{tmp_path}/dangling/out/p/S2/r2",
               "dangling/out/q/S4/r4", f"{tmp_path}/none/../none/S5"]
    local = LocalFolders()
    assert [local.resolve(f)[1] for f in folders] == [False] * 4
    assert local.missing == {str(Path(f).resolve()) for f in folders}
    assert f"{tmp_path}/gone/out/p/S2/r2" in local.missing


def test_folders_that_are_there_are_not_missing(tmp_path) -> None:
    (tmp_path / "out" / "p" / "S1").mkdir(parents=True)
    local = LocalFolders()
    assert local.resolve(f"{tmp_path}/out/p/S1")[1] and local.resolve(f"{tmp_path}/out/p/../p")[1]
    assert not local.resolve(f"{tmp_path}/out/p/S2")[1]
    assert local.missing == {f"{tmp_path}/out/p/S2"}


def test_a_missing_folder_is_refused_with_the_row_a_listing_gives(lake_settings, tmp_path,
                                                                   monkeypatch) -> None:
    looked, told = [], []
    folder = f"{tmp_path}/nowhere/S1/r1/"
    store = LakeStore(lake_settings)
    a = ingest_folder(store, folder, sample_id="S1", run_id="r1", run_at=RUN_AT,
                      write=lambda name, rows: looked.extend(rows))

    def no_listing(*args):
        pytest.fail("a folder the batch found missing is listed again")

    monkeypatch.setattr(dragen_service, "list_files", no_listing)
    b = ingest_folder(store, folder, sample_id="S1", run_id="r1", run_at=RUN_AT,
                      write=lambda name, rows: told.extend(rows), local=LocalFolders())
    assert told == looked and len(told) == 1
    assert (told[0]["source"], told[0]["reason"]) == (f"{tmp_path}/nowhere/S1/r1",
                                                      "run folder not found")
    assert b == a
    assert (b.error, b.quarantined, b.rows) == ("run folder not found", 1, {})
