"""The five ways a lake can be broken, each a different message naming the cause and the fix:
an empty lake, a missing path, a file given as the lake, an S3 endpoint that does not answer, and a
corrupt file (named on the charts that leave it out, the rest of the page shown)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.analytics.overview_lake import write_overview_lake
from tests.dashboards.harness import page_test

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def _app(lake_uri: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_uri)
    return AppTest.from_file(str(APP), default_timeout=90).run()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def _message(at: AppTest) -> str:
    assert not at.exception
    assert not at.metric and not at.dataframe  # no page of zeros
    (box,) = [*at.error, *at.info]
    return box.value


def test_an_empty_lake_says_how_to_fill_it(lake_settings, monkeypatch):
    Path(lake_settings.lake_uri).mkdir()
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.error
    assert _message(at) == (f"the lake at {lake_settings.lake_uri} holds no data yet: run "
                            "`seqledger demo` or `seqledger ingest …` to fill it")


def test_a_missing_path_is_an_error_naming_it(tmp_path, monkeypatch):
    lake = tmp_path / "mistyped-lake"
    at = _app(str(lake), monkeypatch)
    assert _message(at) == (f"no lake at {lake} (the path does not exist): set SEQLEDGER_LAKE to "
                            "the lake's folder or s3://bucket/prefix, or run `seqledger demo` to "
                            "make a demo lake there")
    assert at.error


def test_a_file_given_as_the_lake_is_an_error(tmp_path, monkeypatch):
    lake = tmp_path / "lake.parquet"
    lake.write_text("not a lake")
    at = _app(str(lake), monkeypatch)
    assert _message(at) == (f"the lake {lake} is a file, not a folder: set SEQLEDGER_LAKE to the "
                            "lake's folder or s3://bucket/prefix")


def test_an_s3_endpoint_that_does_not_answer_names_the_endpoint_setting(monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("SEQLEDGER_S3_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("SEQLEDGER_STORAGE_RETRY_S", "0")
    at = _app("s3://lake/unreachable", monkeypatch)
    text = _message(at)
    assert text.startswith("cannot reach the lake s3://lake/unreachable: ")
    assert f"127.0.0.1 port {port}" in text
    assert text.endswith("— check SEQLEDGER_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 and the credentials")


def test_a_corrupt_file_is_named_where_it_is_left_out_and_the_rest_is_shown(lake_settings,
                                                                          monkeypatch):
    write_overview_lake(lake_settings)
    bad = Path(lake_settings.lake_uri) / "runs" / "month=2026-11" / "part-broken.parquet"
    bad.write_bytes(b"not parquet at all")
    at = _app(lake_settings.lake_uri, monkeypatch)
    assert not at.exception and not at.error
    top = at.warning[0].value
    assert top.startswith(f"skipped the unreadable file {bad} ")
    assert top.endswith("Move the file aside (or restore it) to silence this")
    # The charts over runs say which file they leave out; the cost chart (costs) says nothing.
    notes = [w.value for w in at.warning[1:]]
    assert notes and all(n == f"This chart leaves out a file: {top}" for n in notes)
    assert len(notes) == 2  # throughput and the failures tables; not the cost chart
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Attempts"] == "7"  # the other tables are read
    assert metrics["Estimated cost"] == "$11.60"
    assert metrics["Runs"] == "5"  # the good files of the same month are read
    runs = page_test("runs").run()
    assert not runs.exception and not runs.error
    assert len(runs.dataframe[0].value) == 5
    assert any(w.value == f"This chart leaves out a file: {top}" for w in runs.warning)


def test_the_five_messages_differ(tmp_path, lake_settings, monkeypatch):
    """One message per cause: a person can tell a typo from an empty lake from a dead endpoint."""
    from lake.location import LakeState, lake_state
    from lake.settings import Settings

    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    write_overview_lake(lake_settings)
    (Path(lake_settings.lake_uri) / "runs" / "month=2026-11" / "part-bad.parquet").write_bytes(b"x")
    unreachable = Settings.from_env({"SEQLEDGER_LAKE": "s3://lake/x", "AWS_ACCESS_KEY_ID": "a",
                                     "AWS_SECRET_ACCESS_KEY": "b", "SEQLEDGER_S3_ENDPOINT":
                                     f"http://127.0.0.1:{_closed_port()}"})
    checks = [lake_state(Settings(lake_uri=str(tmp_path / p)))
              for p in ("empty", "missing", "file")]
    checks.append(lake_state(unreachable))
    assert [c.state for c in checks] == [LakeState.EMPTY, LakeState.MISSING,
                                         LakeState.NOT_A_FOLDER, LakeState.UNREACHABLE]
    at = _app(lake_settings.lake_uri, monkeypatch)
    messages = [c.message() for c in checks] + [at.warning[0].value]
    assert len({m.split(":")[0] for m in messages}) == 5


def test_a_reachable_s3_lake_shows_its_figures_and_a_new_file(s3_settings, monkeypatch):
    """The healthy S3 case beside the broken ones: SeaweedFS over HTTP, the same figures."""
    from datetime import UTC, datetime

    from lake.store import LakeStore

    write_overview_lake(s3_settings)
    monkeypatch.setenv("SEQLEDGER_S3_ENDPOINT", s3_settings.s3.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_settings.s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_settings.s3.secret_key)
    monkeypatch.setenv("SEQLEDGER_LAKE", s3_settings.lake_uri)
    at = page_test("overview").run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Runs"] == "5"
    LakeStore(s3_settings).write("runs", [{
        "run_id": "run-6", "sample_id": "S6", "project": "pgx", "status": "DISPATCHED",
        "status_at": datetime(2026, 11, 2, 3, tzinfo=UTC)}])
    from dashboards import data

    data._s3_fingerprint.clear()  # as 5 s later: the shared listing is taken again, nothing else
    at.run()
    assert {m.label: m.value for m in at.metric}["Runs"] == "6"
