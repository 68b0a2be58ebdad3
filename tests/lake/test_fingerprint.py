"""The lake's fingerprint moves when a data file is written or a month compacted, and only then;
on a local folder and on S3 (SeaweedFS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lake.fingerprint import fingerprint
from lake.store import LakeStore


def _run(run_id: str, month: int) -> dict:
    return {"run_id": run_id, "sample_id": "S1", "project": "p", "status": "DISPATCHED",
            "status_at": datetime(2026, month, 2, tzinfo=UTC)}


@pytest.mark.parametrize("where", ["local", "s3"])
def test_the_fingerprint_follows_writes_and_compaction(where, lake_settings, request):
    settings = request.getfixturevalue("s3_settings") if where == "s3" else lake_settings
    if where == "local":
        from pathlib import Path

        Path(settings.lake_uri).mkdir()
    store = LakeStore(settings)
    empty = fingerprint(settings)
    store.write("runs", [_run("r1", 10)])
    one = fingerprint(settings)
    assert one != empty
    assert fingerprint(settings) == one  # nothing changed: the same
    store.write("runs", [_run("r1", 10)])  # the same rows again write nothing
    assert fingerprint(settings) == one
    store.write("runs", [_run("r2", 10)])  # a second file in the same month
    two = fingerprint(settings)
    assert two not in (empty, one)
    store.compact("runs", "2026-10")
    assert fingerprint(settings) != two


def test_an_unreachable_s3_endpoint_raises(monkeypatch):
    import socket

    from lake.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings.from_env({"SEQLEDGER_LAKE": "s3://lake/x", "AWS_ACCESS_KEY_ID": "a",
                                  "AWS_SECRET_ACCESS_KEY": "b",
                                  "SEQLEDGER_S3_ENDPOINT": f"http://127.0.0.1:{port}"})
    with pytest.raises(OSError, match="127.0.0.1"):
        fingerprint(settings)
