"""Batch job-state changes in every shape of the real reference payloads."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.batch_events import is_spot_reclaim, job_state_change, job_state_changes
from ingest.s3_events import parse_event_text
from lake.errors import InvalidEvent
from tests.ingest.test_s3_events import JSON, mutate, paths, replaced
from tests.ingest.written_events import (
    BATCH_2017,
    BATCH_NOW,
    REAL,
    SF_FAILED,
    SF_NO_EXIT,
    SF_OK,
    WRITTEN,
)

DOCS = "batch-job-state-change_RUNNABLE_aws-docs.json"
DOTNET = "batch-job-state-change_RUNNABLE_aws-lambda-dotnet.json"
DESCRIBE = "describe-jobs_SUCCEEDED_botocore-example.json"
SQS = "sqs-wrapped-sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"
# Payloads written here in the shapes of real files the repository may not carry (see
# tests/ingest/written_events.py); the real files are checked too when they are at hand.
QIITA, UMCCR = BATCH_2017, BATCH_NOW

ALL = [DOCS, DOTNET, QIITA, UMCCR, DESCRIBE, SF_FAILED, SF_NO_EXIT, SF_OK]


def load(reference: Path, name: str) -> dict:
    if name in WRITTEN:
        return WRITTEN[name]()
    return parse_event_text((reference / "aws-events" / name).read_bytes(), name)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


# Read by hand from the files; epoch-ms values converted with `date -u -d @<seconds>`.
EXPECTED = {
    DOCS: dict(job_id="4c7599ae-0a82-49aa-ba5a-4727fcce14a8", job_name="event-test",
               status="RUNNABLE", status_at=ts("2022-01-11T23:36:40"),
               job_queue="PexjEHappyPathCanary2JobQueue", exit_code=None, attempt_count=0,
               started_at=None, stopped_at=None, status_reason=None, vcpus=2, memory_mib=256,
               event_id="c8f9c4b5-76e5-d76a-f980-7011e206042b"),
    DOTNET: dict(job_id="4c7599ae-0a82-49aa-ba5a-4727fcce14a8", job_name="event-test",
                 status="RUNNABLE", status_at=ts("2017-10-23T17:56:03"), job_queue="HighPriority",
                 exit_code=None, attempt_count=0, started_at=None, stopped_at=None,
                 status_reason=None, vcpus=2, memory_mib=2000,
                 tags={"Service": "Batch", "Name": "JobDefinitionTag", "Expected": "MergeTag"}),
    DESCRIBE: dict(job_id="24fa2d7a-64c4-49d2-8b47-f8da4fbde8e9", job_name="example",
                   status="SUCCEEDED", status_at=ts("2016-11-29T23:08:00.699"),
                   job_queue="HighPriority", exit_code=0, attempt_count=0,
                   started_at=ts("2016-11-29T23:06:56.500"),
                   stopped_at=ts("2016-11-29T23:08:00.699"), status_reason=None, vcpus=1,
                   memory_mib=128, event_id=None),
    # written here (tests/ingest/written_events.py): the values we wrote
    QIITA: dict(job_id="0a1b2c3d-1111-4222-8333-444455556666", job_name="dragen-germline-NA12878",
                status="SUCCEEDED", status_at=ts("2017-11-14T09:41:07"), job_queue="dragen-f1",
                exit_code=0, attempt_count=1, started_at=ms(1510645200500),
                stopped_at=ms(1510652466250), status_reason="Essential container in task exited",
                vcpus=8, memory_mib=120000, tags={},
                event_id="5eed0001-aaaa-4bbb-8ccc-ddddeeee0001"),
    UMCCR: dict(job_id="9f8e7d6c-2222-4333-8444-555566667777", job_name="dragen-somatic-TUMOUR42",
                status="SUCCEEDED", status_at=ts("2025-06-02T18:05:51"), job_queue="dragen-spot",
                exit_code=0, attempt_count=1, started_at=ms(1748880360100),
                stopped_at=ms(1748887550900), status_reason="Essential container in task exited",
                vcpus=16, memory_mib=240000),
    SF_FAILED: dict(job_id="3c3c3c3c-4444-4555-8666-777788889999", job_name="DragenQcJob",
                    status="FAILED", status_at=ms(1686040200789), job_queue="dragen-qc-queue",
                    exit_code=1, attempt_count=1, started_at=ms(1686040123456),
                    stopped_at=ms(1686040200789),
                    status_reason="Essential container in task exited", vcpus=4,
                    memory_mib=8000, event_id=None),
    SF_NO_EXIT: dict(job_id="4d4d4d4d-5555-4666-8777-88889999aaaa", job_name="DragenCoverageJob",
                     status="FAILED", status_at=ms(1699990480654), job_queue="dragen-qc-queue",
                     exit_code=None, attempt_count=1, started_at=ms(1699990300321),
                     stopped_at=ms(1699990480654),
                     status_reason="Essential container in task exited; CannotInspectContainerError"
                     ": Could not transition to inspecting; timed out after waiting 30s",
                     vcpus=4, memory_mib=30000),
    SF_OK: dict(job_id="5e5e5e5e-6666-4777-8888-9999aaaabbbb", job_name="DragenReportJob",
                status="SUCCEEDED", status_at=ms(1720003661250), job_queue="dragen-qc-queue",
                exit_code=0, attempt_count=1, started_at=ms(1720000060500),
                stopped_at=ms(1720003661250), status_reason="Essential container in task exited",
                vcpus=4, memory_mib=16000),
}

# The real files of unknown licence, read by hand; checked only where they are at hand.
EXPECTED_REAL = {
    REAL[QIITA]: dict(job_id="fddb88dd-33f0-478b-933e-27799c94d1b0", job_name="streamtest",
                      status="SUCCEEDED", status_at=ts("2017-10-27T04:28:14"),
                      job_queue="mybatchjob", exit_code=0, attempt_count=1,
                      started_at=ts("2017-10-27T04:27:35.720"),
                      stopped_at=ts("2017-10-27T04:28:13.270"),
                      status_reason="Essential container in task exited", vcpus=1,
                      memory_mib=512, tags={}, event_id="7266ead5-3f9e-aee4-6abd-7908713f9a16"),
    REAL[UMCCR]: dict(job_id="bbbBB8ce-b82d-4235-a878-72735337110e",
                      job_name="oncoanalyser__wgs__SBJ99999__L9999991__L9999992__20230911wgsaaaaa",
                      status="SUCCEEDED", status_at=ts("2023-09-11T12:21:28"),
                      job_queue="nextflow-pipeline", exit_code=0, attempt_count=1,
                      started_at=ts("2023-09-11T09:56:52.249"),
                      stopped_at=ts("2023-09-11T12:21:28.327"),
                      status_reason="Essential container in task exited", vcpus=2,
                      memory_mib=15000),
    REAL[SF_FAILED]: dict(job_id="5ce9a71e-2f18-4dd1-b9ac-9d3618774d3f",
                          job_name="LandsatAcJob", status="FAILED",
                          status_at=ts("2020-06-06T00:38:49.450"),
                          job_queue="BatchJobQueueFD3B0361-88c4344c33bfb4a", exit_code=1,
                          attempt_count=1, started_at=ts("2020-06-06T00:38:48.719"),
                          stopped_at=ts("2020-06-06T00:38:49.450"),
                          status_reason="Essential container in task exited", vcpus=2,
                          memory_mib=12000, event_id=None),
    REAL[SF_NO_EXIT]: dict(job_id="1cd8414e-676b-4bd7-9aac-ab8788c4e850",
                           job_name="LandsatTileJob", status="FAILED",
                           status_at=ts("2020-10-05T14:35:13.034"),
                           job_queue="BatchLandsatTileJobQueu-511e85f94f2b479", exit_code=None,
                           attempt_count=1, started_at=ts("2020-10-05T14:32:16.075"),
                           stopped_at=ts("2020-10-05T14:35:13.034"),
                           status_reason="Essential container in task exited; "
                           "CannotInspectContainerError: Could not transition to inspecting; "
                           "timed out after waiting 30s", vcpus=2, memory_mib=16000),
    REAL[SF_OK]: dict(job_id="d5ce77ea-9d95-4bb9-bf2c-d78da2459e54",
                      job_name="BatchJobNotification", status="SUCCEEDED",
                      status_at=ts("2020-09-25T21:33:47.539"),
                      job_queue="BatchSentinelJobQueue2E-146f7f3ea0ab1d8", exit_code=0,
                      attempt_count=1, started_at=ts("2020-09-25T21:16:10.556"),
                      stopped_at=ts("2020-09-25T21:33:47.539"),
                      status_reason="Essential container in task exited", vcpus=2,
                      memory_mib=15000),
}


@pytest.mark.parametrize("name", list(EXPECTED_REAL))
def test_real_payloads_of_unknown_licence_normalize(real_reference, name):
    if not (real_reference / "aws-events" / name).is_file():
        pytest.skip(f"{name} is not in {real_reference}")
    payload = load(real_reference, name)
    change = job_state_change(payload, name)
    for field, expected in EXPECTED_REAL[name].items():
        assert getattr(change, field) == expected, field
    assert job_state_changes(payload, name).changes == [change]


@pytest.mark.parametrize("name", ALL)
def test_every_reference_payload_normalizes(reference, name):
    change = job_state_change(load(reference, name), name)
    for field, expected in EXPECTED[name].items():
        assert getattr(change, field) == expected, field
    assert change.status_at.tzinfo is not None
    assert change.instance_id is None  # no reference payload names an EC2 instance
    assert not is_spot_reclaim(change)


def test_eventbridge_tags_are_kept_as_sent(reference):
    change = job_state_change(load(reference, UMCCR), UMCCR)
    assert change.tags == {"resourceArn": "arn:aws:batch:eu-west-2:210987654321:job/"
                                          "9f8e7d6c-2222-4333-8444-555566667777"}


def test_status_at_falls_back_to_the_latest_job_time(reference):
    job = load(reference, DESCRIBE)["jobs"][0]
    assert job_state_change(job, "j").status_at == ts("2016-11-29T23:08:00.699")  # stoppedAt
    del job["stoppedAt"]
    assert job_state_change(job, "j").status_at == ts("2016-11-29T23:06:56.500")  # startedAt
    del job["startedAt"]
    assert job_state_change(job, "j").status_at == ts("2016-11-29T23:06:22.010")  # createdAt
    del job["createdAt"]
    with pytest.raises(InvalidEvent, match="j \\(job 24fa2d7a-.*\\): no time"):
        job_state_change(job, "j")


def test_exit_code_and_reason_come_from_the_last_attempt_when_the_job_has_none(reference):
    event = load(reference, QIITA)
    del event["detail"]["container"]["exitCode"]
    del event["detail"]["statusReason"]
    event["detail"]["attempts"].insert(0, copy.deepcopy(event["detail"]["attempts"][0]))
    event["detail"]["attempts"][0]["container"]["exitCode"] = 137
    event["detail"]["attempts"][-1]["container"]["exitCode"] = 3
    event["detail"]["attempts"][-1]["statusReason"] = "last attempt reason"
    change = job_state_change(event, QIITA)
    assert (change.exit_code, change.status_reason, change.attempt_count) == \
        (3, "last attempt reason", 2)


def test_resource_requirements_win_over_deprecated_fields(reference):
    event = load(reference, DOTNET)
    event["detail"]["container"]["resourceRequirements"] = [
        {"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"},
        {"type": "GPU", "value": "1"}]
    change = job_state_change(event, DOTNET)
    assert (change.vcpus, change.memory_mib) == (1, 512)  # 0.25 vCPU rounds up to a whole one
    del event["detail"]["container"]["resourceRequirements"]
    assert job_state_change(event, DOTNET).vcpus == 2  # container.vcpus


def test_instance_type_when_the_container_names_it(reference):
    event = load(reference, UMCCR)
    event["detail"]["container"]["instanceType"] = "f1.2xlarge"
    assert job_state_change(event, UMCCR).instance_type == "f1.2xlarge"


# --- Spot reclaims (no real FAILED reclaim payload exists: real payloads, fields changed) ----

RECLAIM = "Host EC2 (instance i-0282b396e52b4c95d) terminated."


def reclaimed(reference, exit_code) -> dict:
    event = load(reference, QIITA)
    detail = event["detail"]
    detail["status"] = "FAILED"
    detail["statusReason"] = detail["attempts"][0]["statusReason"] = RECLAIM
    for container in (detail["container"], detail["attempts"][0]["container"]):
        if exit_code is None:
            del container["exitCode"]
        else:
            container["exitCode"] = exit_code
    return event


@pytest.mark.parametrize("exit_code", [143, None])
def test_spot_reclaim(reference, exit_code):
    change = job_state_change(reclaimed(reference, exit_code), QIITA)
    assert (change.status, change.exit_code, change.status_reason) == \
        ("FAILED", exit_code, RECLAIM)
    assert change.instance_id == "i-0282b396e52b4c95d"
    assert is_spot_reclaim(change)


def test_spot_reclaim_in_pascal_case_step_functions_cause(reference):
    payload = load(reference, SF_NO_EXIT)
    cause = json.loads(payload["Cause"])
    cause["StatusReason"] = cause["Attempts"][0]["StatusReason"] = RECLAIM
    del cause["Container"]["Reason"], cause["Attempts"][0]["Container"]["Reason"]
    payload["Cause"] = json.dumps(cause)
    change = job_state_change(payload, SF_NO_EXIT)
    assert (change.exit_code, change.instance_id) == (None, "i-0282b396e52b4c95d")
    assert is_spot_reclaim(change)


@pytest.mark.parametrize(("reason", "exit_code"), [
    (RECLAIM, 1),  # the application failed before the host went away
    (RECLAIM, 0),
    ("Essential container in task exited", 143),  # SIGTERM from elsewhere, not a reclaim
    (None, None),
])
def test_not_a_spot_reclaim(reference, reason, exit_code):
    change = job_state_change(reclaimed(reference, 143), QIITA)
    assert not is_spot_reclaim(replace(change, status_reason=reason, exit_code=exit_code))


# --- envelopes and batches -----------------------------------------------------------------

def test_sqs_wrapped_batch_event(reference):
    # a Batch event can reach Lambda through SQS, body = json.dumps(event) (umccr's portal does)
    sqs = load(reference, SQS)
    direct = job_state_change(load(reference, UMCCR), UMCCR)
    sqs["Records"][0]["body"] = json.dumps(load(reference, UMCCR))
    bad = copy.deepcopy(sqs["Records"][0])
    bad["body"] = bad["body"][:100]
    sqs["Records"].append(bad)
    events = job_state_changes(sqs, "queue")
    assert events.changes == [direct]
    [error] = events.invalid
    assert error.source == "queue#Records[1]" and "SQS body is not valid JSON" in error.reason
    with pytest.raises(InvalidEvent, match="use job_state_changes"):
        job_state_change(sqs, "queue")


def test_describe_jobs_reply_with_several_jobs(reference):
    reply = load(reference, DESCRIBE)
    second = copy.deepcopy(reply["jobs"][0])
    second.update(jobId="second-job", status="RUNNING")
    del second["stoppedAt"], second["container"]["exitCode"]
    reply["jobs"].append(second)
    reply["jobs"].append({"jobId": "third"})
    events = job_state_changes(reply, DESCRIBE)
    assert [(c.job_id, c.status, c.exit_code) for c in events.changes] == \
        [("24fa2d7a-64c4-49d2-8b47-f8da4fbde8e9", "SUCCEEDED", 0), ("second-job", "RUNNING", None)]
    assert [e.source for e in events.invalid] == [f"{DESCRIBE}#jobs[2] (job third)"]
    with pytest.raises(InvalidEvent, match="got 3; use job_state_changes"):
        job_state_change(reply, DESCRIBE)


def test_single_payloads_through_job_state_changes(reference):
    for name in ALL:
        assert job_state_changes(load(reference, name), name).changes == \
            [job_state_change(load(reference, name), name)]


def test_s3_payload_is_not_a_batch_event(reference):
    with pytest.raises(InvalidEvent, match="an S3 object event, not a Batch"):
        job_state_change(load(reference, SQS), SQS)
    eb = "eventbridge-s3-object-created_aws-docs.json"
    with pytest.raises(InvalidEvent, match="'Object Created' from 'aws.s3' is not a Batch"):
        job_state_change(load(reference, eb), eb)


# --- malformed input -----------------------------------------------------------------------

@pytest.mark.parametrize(("path", "value", "reason"), [
    (("detail", "jobId"), KeyError, "jobId is missing"),
    (("detail", "jobId"), 7, "jobId must be a non-empty string, got a number"),
    (("detail", "status"), "EXPLODED", "unknown job status 'EXPLODED'"),
    (("detail", "status"), KeyError, "status is missing"),
    (("detail", "jobName"), KeyError, "jobName is missing"),
    (("detail", "createdAt"), "1509078431202", "createdAt must be epoch milliseconds"),
    (("detail", "startedAt"), 1509078455, "startedAt 1509078455 is not epoch milliseconds"),
    (("detail", "stoppedAt"), True, "stoppedAt must be epoch milliseconds, got a boolean"),
    (("detail", "attempts"), {"container": {}}, "attempts must be a list of objects"),
    (("detail", "container", "exitCode"), "0", "exitCode must be a whole number"),
    (("detail", "container"), ["x"], "container must be an object, got a list"),
    (("detail", "container", "vcpus"), -1, "vcpus must not be negative"),
    (("detail", "container", "exitCode"), 2**40, "exitCode is out of range"),
    (("detail", "tags"), {"project": 5}, "tags must be an object of strings"),
    (("detail",), None, "detail must be an object, got null"),
    (("time",), "2017-10-27 04:28", "time has no time zone"),
    (("detail-type",), "EC2 Instance State-change Notification", "is not a Batch job state"),
])
def test_malformed_eventbridge_batch_event(reference, path, value, reason):
    event = mutate(load(reference, QIITA), path, value)
    with pytest.raises(InvalidEvent, match=reason) as info:
        job_state_change(event, QIITA)
    assert QIITA in str(info.value)


def test_malformed_resource_requirements(reference):
    event = load(reference, UMCCR)
    event["detail"]["container"]["resourceRequirements"][1]["value"] = "two"
    with pytest.raises(InvalidEvent, match="VCPU value must be a number, got 'two'"):
        job_state_change(event, UMCCR)


def test_step_functions_cause_that_is_not_a_job(reference):
    payload = load(reference, SF_FAILED)
    payload["Cause"] = "Task timed out after 3600 seconds"
    with pytest.raises(InvalidEvent, match=f"^{SF_FAILED}: Step Functions 'States.TaskFailed' "
                                           "Cause is not valid JSON"):
        job_state_change(payload, SF_FAILED)
    payload["Cause"] = payload["Cause"][:10]
    with pytest.raises(InvalidEvent, match="not a Batch job detail"):
        job_state_change(payload, SF_FAILED)


def test_truncated_batch_event_text(reference):
    text = (reference / "aws-events" / DOTNET).read_bytes()
    with pytest.raises(InvalidEvent, match=f"^{DOTNET}: event is not valid JSON"):
        parse_event_text(text[:-40], DOTNET)


@pytest.mark.parametrize("payload", [[{"jobId": "x"}], "x", None, {"hello": 1}, {"jobs": "x"}])
def test_payload_of_unknown_kind(payload):
    with pytest.raises(InvalidEvent) as info:
        job_state_change(payload, "msg-3")
    assert info.value.source.startswith("msg-3")


# --- property: nothing but InvalidEvent escapes -------------------------------------------

def check_batch(payload) -> None:
    for parse in (job_state_change, job_state_changes):
        try:
            parse(payload, "fuzz")
        except InvalidEvent as exc:
            assert exc.source.startswith("fuzz")


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_raises_only_invalid_event(payload):
    check_batch(payload)


@pytest.fixture(scope="module")
def batch_files(reference) -> dict:
    return {name: load(reference, name) for name in ALL}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL), st.data(), JSON)
def test_real_payloads_with_any_field_replaced_raise_only_invalid_event(batch_files, name, data,
                                                                        value):
    payload = batch_files[name]
    if "Cause" in payload:  # fuzz inside the JSON string too
        payload = {**payload, "Cause": json.loads(payload["Cause"])}
        path = data.draw(st.sampled_from(list(paths(payload))))
        mutated = replaced(payload, path, value)
        if isinstance(mutated, dict) and isinstance(mutated.get("Cause"), dict | list):
            mutated["Cause"] = json.dumps(mutated["Cause"])
        check_batch(mutated)
        return
    path = data.draw(st.sampled_from(list(paths(payload))))
    check_batch(replaced(payload, path, value))
