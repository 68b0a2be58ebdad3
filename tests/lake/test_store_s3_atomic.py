"""On S3 a write that fails part-way leaves nothing at the final name (SeaweedFS, real uploads).

pyarrow's S3 output stream completes the upload when the ``with`` block exits, even on an
exception, so the failure is injected inside that block: the real Parquet bytes are cut short
(or, to force a multipart upload, preceded by more than one part of padding) and then the write
raises, as a dropped connection would.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import lake.store
from lake.errors import LakeWriteError
from lake.store import LakeStore

pytestmark = pytest.mark.integration

MULTIPART = 12 * 1024 * 1024  # more than one part of pyarrow's S3 uploads


def _runs(n: int, first: int = 0) -> list[dict]:
    return [{"run_id": f"r{i}", "sample_id": f"S{i}", "status": "DISPATCHED",
             "status_at": datetime(2026, 1, 1 + i % 28, tzinfo=UTC)}
            for i in range(first, first + n)]


def _fail_part_way(monkeypatch, padding: int) -> list[int]:
    """Make the next Parquet write send some bytes, then raise; returns the bytes sent."""
    real = pq.write_table
    sent: list[int] = []

    def write_table(tbl, where, **kwargs):
        buf = io.BytesIO()
        real(tbl, buf, **kwargs)
        data = b"\0" * padding + buf.getvalue()[: buf.tell() // 2]
        where.write(data)
        sent.append(len(data))
        monkeypatch.setattr(lake.store.pq, "write_table", real)  # the retry succeeds
        raise OSError("connection reset by peer")

    monkeypatch.setattr(lake.store.pq, "write_table", write_table)
    return sent


def _visible_objects(store: LakeStore) -> list[str]:
    infos = store.fs.get_file_info(pafs.FileSelector(store.root, recursive=True,
                                                     allow_not_found=True))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


@pytest.mark.parametrize("padding", [0, MULTIPART], ids=["single-put", "multipart"])
def test_a_write_that_fails_part_way_leaves_nothing_and_the_retry_writes_it(
        s3_settings, monkeypatch, padding):
    # no storage retry budget: the failed attempt surfaces, so what it left can be looked at
    store = LakeStore(dataclasses.replace(s3_settings, storage_retry_s=0.0))
    sent = _fail_part_way(monkeypatch, padding)

    with pytest.raises(LakeWriteError, match="connection reset by peer"):
        store.write("runs", _runs(3))

    assert sent and sent[0] > padding  # bytes did go out before the failure
    assert _visible_objects(store) == []  # no final file, no temporary one
    result = store.write("runs", _runs(3))  # the retry
    assert result.rows_written == 3 and not result.files_existing
    assert sorted(r["run_id"] for r in store.read("runs").to_pylist()) == ["r0", "r1", "r2"]
    (path,) = _visible_objects(store)
    assert pq.read_metadata(path, filesystem=store.fs).num_rows == 3


def test_a_compaction_that_fails_part_way_loses_nothing_and_the_retry_compacts(
        s3_settings, monkeypatch):
    store = LakeStore(dataclasses.replace(s3_settings, storage_retry_s=0.0))
    for offset in range(3):
        store.write("runs", _runs(4, first=offset * 4))
    before = store.read("runs").to_pylist()
    files = store.files("runs")
    assert len(files) == 3
    _fail_part_way(monkeypatch, 0)

    with pytest.raises(LakeWriteError):
        store.compact("runs", "2026-01")

    assert _visible_objects(store) == files  # the old files, whole, and nothing else
    assert store.read("runs").to_pylist() == before
    assert store.compact("runs", "2026-01") == (3, 1)
    assert store.read("runs").to_pylist() == before
    (path,) = _visible_objects(store)
    assert "/compacted-" in path
