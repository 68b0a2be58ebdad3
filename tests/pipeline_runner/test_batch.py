"""The AWS Batch executor: the exact SubmitJob request, and what moto's Batch recorded of it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lake.errors import SubmitError, TransientError
from pipeline_runner.executors.batch import BatchExecutor, build_submit_request
from pipeline_runner.workflows import RunnerConfig, build_job_spec
from tests.pipeline_runner.events import to_change
from tests.servers import MotoBatch, make_moto_batch

JOB_DEFINITION = "arn:aws:batch:us-east-1:123456789012:job-definition/dragen-germline:3"


def test_submit_request_is_exactly_what_batch_needs(make_run, config):
    run = make_run("NA12878-A01")
    spec = build_job_spec(run, 2, "on-demand", config)
    assert build_submit_request(spec, JOB_DEFINITION) == {
        "jobName": f"{run.run_id}-a2",
        "jobQueue": "dragen-on-demand",
        "jobDefinition": JOB_DEFINITION,
        "containerOverrides": {
            "command": list(spec.command),
            "resourceRequirements": [{"type": "VCPU", "value": "16"},
                                     {"type": "MEMORY", "value": "234496"}],
            "environment": [
                {"name": "SEQLEDGER_ATTEMPT", "value": "2"},
                {"name": "SEQLEDGER_INPUT_BYTES", "value": "70000000000"},
                {"name": "SEQLEDGER_INPUT_KIND", "value": "fastq"},
                {"name": "SEQLEDGER_OUTPUT",
                 "value": f"{run.output_prefix}/allofus-wgs/NA12878-A01/{run.run_id}/attempt-2/"},
                {"name": "SEQLEDGER_RUN_ID", "value": run.run_id},
            ],
        },
        "tags": {"project": "allofus-wgs", "sample_id": "NA12878-A01", "run_id": run.run_id,
                 "workflow": "dragen-germline-wgs", "pipeline_release": "dragen-4.2.4",
                 "requested_by": "jdoe", "cost_centre": "CC-1042"},
        "propagateTags": True,
        "retryStrategy": {"attempts": 1},
        "timeout": {"attemptDurationSeconds": 43200},
    }
    assert "timeout" not in build_submit_request(replace(spec, timeout_s=None), JOB_DEFINITION)


class _FailingClient:
    def __init__(self, code: str, status: int = 400):
        self.code, self.status = code, status

    def submit_job(self, **request):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "no"},
                           "ResponseMetadata": {"HTTPStatusCode": self.status}}, "SubmitJob")


def test_batch_errors_say_whether_retrying_helps(make_run, config):
    spec = build_job_spec(make_run(), 1, "spot", config)
    with pytest.raises(SubmitError, match="ClientException"):
        BatchExecutor(_FailingClient("ClientException"), JOB_DEFINITION).submit(spec)
    with pytest.raises(TransientError, match="TooManyRequestsException"):
        BatchExecutor(_FailingClient("TooManyRequestsException", 429), JOB_DEFINITION).submit(spec)
    with pytest.raises(TransientError):
        BatchExecutor(_FailingClient("ServerException", 500), JOB_DEFINITION).submit(spec)


@pytest.fixture(scope="module")
def moto_batch(moto_endpoint) -> MotoBatch:
    """Spot and On-Demand queues and a DRAGEN job definition in moto (no Docker)."""
    return make_moto_batch(moto_endpoint, "runner")


@pytest.mark.integration
def test_moto_records_our_tags_queue_and_command(moto_batch, make_run):
    batch, job_definition = moto_batch.client(), moto_batch.job_definition
    config = RunnerConfig(spot_queue=moto_batch.spot_queue, instance_types=("f2.6xlarge",))
    spec = build_job_spec(make_run("NA12878-B07"), 1, "spot", config)
    sent = []
    batch.meta.events.register("provide-client-params.batch.SubmitJob",
                               lambda params, **_: sent.append(json.loads(json.dumps(params))))
    executor = BatchExecutor(batch, job_definition)
    job_id = executor.submit(spec)

    assert sent == [build_submit_request(spec, job_definition)]
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert job["jobName"] == spec.job_name
    assert job["jobQueue"].endswith(f":job-queue/{moto_batch.spot_queue}")
    assert job["jobDefinition"] == job_definition
    assert job["tags"] == spec.tags
    assert job["container"]["command"] == list(spec.command)
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert env["SEQLEDGER_OUTPUT"] == spec.environment["SEQLEDGER_OUTPUT"]
    assert job["timeout"] == {"attemptDurationSeconds": spec.timeout_s}

    # moto's simple Batch finishes at once; polling turns that into a Batch-shaped event
    events = executor.poll()
    assert [e["detail"]["status"] for e in events] == ["SUCCEEDED"]
    change = to_change(events[0])
    assert (change.job_id, change.job_name, change.tags) == (job_id, spec.job_name, spec.tags)
    assert executor.poll() == []  # nothing new


@pytest.mark.integration
def test_moto_refusal_becomes_a_submit_error(moto_batch, make_run):
    batch, job_definition = moto_batch.client(), moto_batch.job_definition
    spec = build_job_spec(make_run("S2"), 1, "spot", RunnerConfig(spot_queue="no-such-queue"))
    with pytest.raises(SubmitError, match=spec.job_name):
        BatchExecutor(batch, job_definition).submit(spec)
