"""Durability, retries and quoting of the store and the engine (issue 17, findings 5 and 7)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from analytics.engine import _load_httpfs, connect
from lake.errors import SeqledgerError
from lake.settings import S3Options, Settings
from lake.store import LakeStore

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROWS = [{"quarantine_id": "q1", "quarantined_at": AT, "stage": "t", "source": "s",
         "reason": "r"}]
S503 = "AWS Error SLOW_DOWN during GetFileInfo operation: HTTP status 503"


def test_a_local_write_fsyncs_the_file_and_its_folder(lake_settings: Settings, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    (path,) = LakeStore(lake_settings).write("quarantine", ROWS).files_written
    folder = os.path.dirname(path)
    assert synced[0].endswith(".partial")  # the data, before the rename
    assert folder in synced[1:] and os.path.dirname(folder) in synced[1:]


def test_compaction_removes_orphaned_partial_files_only_when_old(lake_settings: Settings):
    store = LakeStore(lake_settings)
    (path,) = store.write("quarantine", ROWS).files_written
    folder = Path(path).parent
    old, fresh = folder / ".part-dead.parquet.1.partial", folder / ".part-live.parquet.2.partial"
    old.write_bytes(b"half a parquet file")
    fresh.write_bytes(b"a write in progress")
    stale = time.time() - 2 * 3600  # a write that died two hours ago
    os.utime(old, (stale, stale))
    store.compact("quarantine", "2026-03")
    assert not old.exists() and fresh.exists()
    assert store.read("quarantine").num_rows == 1


class _FlakyHandler(pafs.FileSystemHandler):
    """A local filesystem whose listings fail ``failures`` times with an S3 503 first."""

    def __init__(self, failures: int) -> None:
        self.local, self.failures = pafs.LocalFileSystem(), failures

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError(S503)

    def get_type_name(self): return "flaky"
    def normalize_path(self, path): return path
    def get_file_info(self, paths):
        self._maybe_fail()
        return self.local.get_file_info(paths)
    def get_file_info_selector(self, selector):
        self._maybe_fail()
        return self.local.get_file_info(selector)
    def create_dir(self, path, recursive): self.local.create_dir(path, recursive=recursive)
    def delete_dir(self, path): self.local.delete_dir(path)
    def delete_dir_contents(self, path, missing_dir_ok): self.local.delete_dir_contents(path)
    def delete_root_dir_contents(self): raise NotImplementedError
    def delete_file(self, path): self.local.delete_file(path)
    def move(self, src, dest): self.local.move(src, dest)
    def copy_file(self, src, dest): self.local.copy_file(src, dest)
    def open_input_stream(self, path): return self.local.open_input_stream(path)
    def open_input_file(self, path): return self.local.open_input_file(path)
    def open_output_stream(self, path, metadata): return self.local.open_output_stream(path)
    def open_append_stream(self, path, metadata): return self.local.open_append_stream(path)
    def __eq__(self, other): return self is other
    def __ne__(self, other): return self is not other


def _flaky_store(settings: Settings, failures: int, retry_s: float) -> LakeStore:
    from dataclasses import replace

    store = LakeStore(replace(settings, storage_retry_s=retry_s))
    store.write("quarantine", ROWS)
    store.fs = pafs.PyFileSystem(_FlakyHandler(failures))
    return store


def test_a_short_burst_of_503s_is_retried_through(lake_settings: Settings, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)
    store = _flaky_store(lake_settings, failures=4, retry_s=30)
    assert store.read("quarantine").num_rows == 1


def test_a_failure_that_outlasts_the_budget_is_one_clear_error(lake_settings: Settings,
                                                               monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)
    store = _flaky_store(lake_settings, failures=10_000, retry_s=2)
    with pytest.raises(SeqledgerError) as err:
        store.read("quarantine")
    message = str(err.value)
    assert message.startswith(f"listing {lake_settings.lake_uri}/quarantine failed after ")
    assert "HTTP status 503" in message and "\n" not in message and err.value.retryable


def test_a_lake_folder_with_a_quote_works(tmp_path: Path):
    settings = Settings(lake_uri=str(tmp_path / "o'brien's lake"))
    LakeStore(settings).write("quarantine", ROWS)
    con = connect(settings)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)


def test_a_secret_with_a_quote_works_and_is_never_printed():
    import duckdb

    secret = "abc'def/ghi+jkl"
    settings = Settings(lake_uri="s3://lake/x", s3=S3Options(
        endpoint_url="http://127.0.0.1:9", access_key="AKIDEXAMPLE", secret_key=secret))
    con = duckdb.connect()
    _load_httpfs(con, settings)  # main: a parser error that shows the secret
    shown = con.execute("SELECT secret_string FROM duckdb_secrets()").fetchone()[0]
    assert "abc" not in shown
