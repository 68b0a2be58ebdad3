"""The Lambda entry points are thin: settings from the environment, one call to the service."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest import handlers
from lake.errors import TransientError
from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import object_created


class Context:
    aws_request_id = "req-123"


@pytest.fixture
def lambda_env(tmp_path, monkeypatch) -> Settings:
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    monkeypatch.setenv("SEQLEDGER_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("SEQLEDGER_PROJECTS", str(projects))
    monkeypatch.setenv("SEQLEDGER_OUTPUT_PREFIX", str(tmp_path / "out"))
    return Settings.from_env()


def test_dispatcher_records_arrivals_from_a_real_sns_capture(reference, lambda_env, capsys):
    event = json.loads(
        (
            reference
            / "aws-events"
            / "sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"
        ).read_text()
    )
    summary = handlers.on_object_created(event, Context())
    assert summary["payloads"] == 1 and summary["objects"] == 1
    assert summary["dispatched"] == []
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["seqledger"]["objects"] == 1
    (row,) = LakeStore(lambda_env).read("arrivals").to_pylist()
    assert row["envelope"] == "sns"


def test_dispatcher_dispatches_a_complete_pair(lambda_env):
    at = datetime(2026, 5, 1, tzinfo=UTC)
    records = []
    for n, mate in enumerate(("R1", "R2")):
        key = f"cardio/S7/S7_S1_L001_{mate}_001.fastq.gz"
        records += object_created("s3", "in", key, 40 * 10**9, f"e{n}", at, f"{n:08X}")["Records"]
    summary = handlers.on_object_created({"Records": records}, Context())
    assert len(summary["dispatched"]) == 1
    (run,) = LakeStore(lambda_env).read("runs").to_pylist()
    assert run["sample_id"] == "S7" and run["requested_by"] == "a.lee"


def test_recorder_quarantines_a_job_it_does_not_know_and_succeeds(reference, lambda_env):
    event = json.loads(
        (reference / "aws-events" / "batch-job-state-change_RUNNABLE_aws-docs.json").read_text()
    )
    summary = handlers.on_job_state_change(event, Context())
    assert summary["job_changes"] == 1
    store = LakeStore(lambda_env)
    assert store.read("job_attempts").num_rows == 0  # not one of ours
    (q,) = store.read("quarantine").to_pylist()
    assert q["stage"] == "track" and q["source"] == event["id"]
    assert "job" in q["reason"] and q["retryable"] is False


def test_a_malformed_event_is_quarantined_not_raised(lambda_env):
    summary = handlers.on_object_created({"Records": [{"eventSource": "aws:s3"}]}, Context())
    assert summary["quarantined"] == 1
    (q,) = LakeStore(lambda_env).read("quarantine").to_pylist()
    assert q["stage"] == "ingest.event" and "lambda:object-created:req-123" in q["source"]


def test_transient_errors_raise_so_lambda_retries(lambda_env, monkeypatch):
    from ingest.service import EventOutcome, EventService

    monkeypatch.setattr(
        EventService,
        "process",
        lambda self, payloads, now=None: EventOutcome(transient=["S3 SlowDown"]),
    )
    with pytest.raises(TransientError, match="SlowDown"):
        handlers.on_job_state_change({}, Context())


def test_compaction_handler_compacts_this_month(lambda_env):
    store = LakeStore(lambda_env)
    now = datetime.now(UTC)
    for i in range(3):
        store.write("runs", [{"run_id": f"r{i}", "status": "DISPATCHED", "status_at": now}])
    result = handlers.compact_lake({}, Context())
    assert result == {f"runs/{now:%Y-%m}": {"files_before": 3, "files_after": 1}}
