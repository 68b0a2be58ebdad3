"""Missing is not empty: the state of a lake on a local folder and on a real S3 server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lake.location import LakeState, LakeUnavailableError, lake_state, require_lake
from lake.settings import S3Options, Settings
from lake.store import LakeStore
from tests.servers import free_port

ROW = {"run_id": "r1", "status": "SUCCEEDED", "project": "p", "sample_id": "s"}


def _fill(settings: Settings) -> None:
    from datetime import UTC, datetime

    LakeStore(settings).write("runs", [{**ROW, "status_at": datetime(2026, 10, 1, tzinfo=UTC),
                                        "input_kind": "fastq"}])


def test_local_states(tmp_path: Path):
    def state(p: Path) -> LakeState:
        return lake_state(Settings(lake_uri=str(p))).state

    assert state(tmp_path / "nowhere") is LakeState.MISSING
    (tmp_path / "a-file").write_text("x")
    assert state(tmp_path / "a-file") is LakeState.NOT_A_FOLDER
    (tmp_path / "empty").mkdir()
    assert state(tmp_path / "empty") is LakeState.EMPTY
    (tmp_path / "empty" / "notes.txt").write_text("not a table")
    assert state(tmp_path / "empty") is LakeState.EMPTY  # only table folders count
    _fill(Settings(lake_uri=str(tmp_path / "full")))
    assert state(tmp_path / "full") is LakeState.HAS_DATA


def test_require_lake_names_the_path_and_never_suggests_retrying(tmp_path: Path):
    with pytest.raises(LakeUnavailableError) as info:
        require_lake(Settings(lake_uri=str(tmp_path / "typo")))
    assert str(info.value).startswith(f"no lake at {tmp_path / 'typo'} (the path does not exist)")
    assert not info.value.retryable and "retry" not in str(info.value)


@pytest.mark.integration
def test_s3_states(s3_settings: Settings):
    assert lake_state(s3_settings).state is LakeState.EMPTY  # a prefix with nothing under it
    _fill(s3_settings)
    assert lake_state(s3_settings).state is LakeState.HAS_DATA
    no_bucket = replace(s3_settings, lake_uri="s3://no-such-bucket/x")
    assert lake_state(no_bucket).state is LakeState.MISSING


def test_s3_unreachable_names_the_endpoint_problem():
    down = Settings(lake_uri="s3://lake/x", s3=S3Options(
        endpoint_url=f"http://127.0.0.1:{free_port()}", access_key="a", secret_key="b"))
    check = lake_state(down)
    assert check.state is LakeState.UNREACHABLE
    assert check.message().startswith("cannot reach the lake s3://lake/x: ")
    assert "SEQLEDGER_S3_ENDPOINT" in check.message()
