"""Batch payloads written here, in the documented shapes of reference files we may not ship.

The shared reference data has real captures of these shapes whose licence is unknown (a 2017
Qiita article, umccr/data-portal-apis, NASA-IMPACT/hls-orchestration; see
tests/fixtures/reference-data/README.md). The repository does not carry them. These payloads
are written for seqledger with our own values (DRAGEN jobs), field for field in the shape the
reference README and the AWS documentation describe:

- an EventBridge "Batch Job State Change" in the 2017 schema (no ``jobArn``, no tags);
- the same in the current schema (``jobArn``, ``tags``, ``resourceRequirements``, EC2 platform);
- Step Functions' ``States.TaskFailed`` whose ``Cause`` is a PascalCase DescribeJobs JobDetail,
  with an exit code and without one (ECS could not inspect the container);
- a PascalCase JobDetail of a job that succeeded (the Step Functions task output).

Times are epoch milliseconds, as Batch sends them. When ``SEQLEDGER_REFERENCE_DATA`` points at
the shared folder, the tests also check the real files (``test_real_payloads_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

BATCH_2017 = "written-here_batch-job-state-change_SUCCEEDED_2017-schema.json"
BATCH_NOW = "written-here_batch-job-state-change_SUCCEEDED_current-schema.json"
SF_FAILED = "written-here_stepfunctions-batch-task-FAILED_exitCode1.json"
SF_NO_EXIT = "written-here_stepfunctions-batch-task-FAILED_no-exitCode.json"
SF_OK = "written-here_stepfunctions-batch-task-SUCCEEDED-jobdetail.json"

ACCOUNT = "210987654321"
REGION = "eu-west-2"
EXITED = "Essential container in task exited"
NO_INSPECT = "CannotInspectContainerError: Could not transition to inspecting; timed out after " \
             "waiting 30s"


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:{kind}/{name}"


def batch_2017() -> dict[str, Any]:
    job = "0a1b2c3d-1111-4222-8333-444455556666"
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/7e57a5c0-0000-4000-8000-00000000a001"
    instance = (f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/"
                "c1c1c1c1-0000-4000-8000-0000000c0001")
    stream = "dragen-germline/default/7e57a5c0-0000-4000-8000-00000000a001"
    return {
        "version": "0",
        "id": "5eed0001-aaaa-4bbb-8ccc-ddddeeee0001",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": ACCOUNT,
        "time": "2017-11-14T09:41:07Z",
        "region": REGION,
        "resources": [_arn("job", job)],
        "detail": {
            "jobName": "dragen-germline-NA12878",
            "jobId": job,
            "jobQueue": _arn("job-queue", "dragen-f1"),
            "status": "SUCCEEDED",
            "attempts": [{
                "container": {"containerInstanceArn": instance, "taskArn": task,
                              "exitCode": 0, "logStreamName": stream},
                "startedAt": 1510645200500,
                "stoppedAt": 1510652466250,
                "statusReason": EXITED,
            }],
            "statusReason": EXITED,
            "createdAt": 1510645020125,
            "retryStrategy": {"attempts": 3},
            "startedAt": 1510645200500,
            "stoppedAt": 1510652466250,
            "dependsOn": [],
            "jobDefinition": _arn("job-definition", "dragen-germline:4"),
            "parameters": {},
            "container": {
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dragen:3.2.8",
                "vcpus": 8,
                "memory": 120000,
                "command": ["dragen", "-f", "-r", "/ref/hg38"],
                "jobRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dragen-job",
                "volumes": [{"host": {"sourcePath": "/ephemeral"}, "name": "scratch"}],
                "environment": [],
                "mountPoints": [{"containerPath": "/scratch", "readOnly": False,
                                 "sourceVolume": "scratch"}],
                "readonlyRootFilesystem": False,
                "ulimits": [],
                "exitCode": 0,
                "containerInstanceArn": instance,
                "taskArn": task,
                "logStreamName": stream,
            },
        },
    }


def batch_now() -> dict[str, Any]:
    event = batch_2017()
    job = "9f8e7d6c-2222-4333-8444-555566667777"
    detail = event["detail"]
    event.update(id="5eed0002-aaaa-4bbb-8ccc-ddddeeee0002", time="2025-06-02T18:05:51Z",
                 resources=[_arn("job", job)])
    container = detail["container"]
    del container["vcpus"], container["memory"]
    container.update(privileged=False, networkInterfaces=[], secrets=[],
                     resourceRequirements=[{"value": "240000", "type": "MEMORY"},
                                           {"value": "16", "type": "VCPU"}])
    detail["attempts"][0].update(startedAt=1748880360100, stoppedAt=1748887550900)
    detail["attempts"][0]["container"]["networkInterfaces"] = []
    detail.update(jobArn=_arn("job", job), jobId=job, jobName="dragen-somatic-TUMOUR42",
                  jobQueue=_arn("job-queue", "dragen-spot"), createdAt=1748880111000,
                  startedAt=1748880360100, stoppedAt=1748887550900,
                  retryStrategy={"attempts": 3, "evaluateOnExit": []},
                  parameters={"sample_id": "TUMOUR42", "workflow": "dragen-somatic"},
                  tags={"resourceArn": _arn("job", job)}, propagateTags=False,
                  platformCapabilities=["EC2"], eksAttempts=[])
    # the current schema puts jobArn first
    event["detail"] = {"jobArn": detail.pop("jobArn"), **detail}
    return event


def _job_detail(job: str, name: str, status: str, exit_code: int | None, times: tuple[int, ...],
                memory: int, reason: str | None = None) -> dict[str, Any]:
    """A DescribeJobs JobDetail in Step Functions' PascalCase."""
    created, started, stopped = times
    container: dict[str, Any] = {
        "ContainerInstanceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/ci-{job[:8]}",
        "LogStreamName": f"dragen-qc/default/{job}",
        "NetworkInterfaces": [],
        "TaskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{job}",
    }
    if exit_code is not None:
        container["ExitCode"] = exit_code
    if reason is not None:
        container["Reason"] = reason
    return {
        "Attempts": [{"Container": dict(container), "StartedAt": started,
                      "StatusReason": EXITED, "StoppedAt": stopped}],
        "Container": {
            "Command": ["dragen-qc.sh"],
            **{k: v for k, v in container.items() if k != "NetworkInterfaces"},
            "Environment": [{"Name": "RUN_ID", "Value": f"run-{job[:6]}"}],
            "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dragen-qc:2",
            "JobRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dragen-qc",
            "Memory": memory,
            "MountPoints": [],
            "NetworkInterfaces": [],
            "ResourceRequirements": [],
            "Ulimits": [],
            "Vcpus": 4,
            "Volumes": [],
        },
        "CreatedAt": created,
        "DependsOn": [],
        "JobDefinition": _arn("job-definition", "dragen-qc:2"),
        "JobId": job,
        "JobName": name,
        "JobQueue": _arn("job-queue", "dragen-qc-queue"),
        "Parameters": {},
        "RetryStrategy": {"Attempts": 1},
        "StartedAt": started,
        "Status": status,
        "StatusReason": EXITED,
        "StoppedAt": stopped,
        "Timeout": {"AttemptDurationSeconds": 14400},
    }


def sf_failed() -> dict[str, Any]:
    detail = _job_detail("3c3c3c3c-4444-4555-8666-777788889999", "DragenQcJob", "FAILED", 1,
                         (1686040000000, 1686040123456, 1686040200789), 8000)
    return {"Error": "States.TaskFailed", "Cause": json.dumps(detail, separators=(",", ":"))}


def sf_no_exit() -> dict[str, Any]:
    detail = _job_detail("4d4d4d4d-5555-4666-8777-88889999aaaa", "DragenCoverageJob", "FAILED",
                         None, (1699990000000, 1699990300321, 1699990480654), 30000, NO_INSPECT)
    return {"Error": "States.TaskFailed", "Cause": json.dumps(detail, separators=(",", ":"))}


def sf_ok() -> dict[str, Any]:
    return _job_detail("5e5e5e5e-6666-4777-8888-9999aaaabbbb", "DragenReportJob", "SUCCEEDED", 0,
                       (1720000000000, 1720000060500, 1720003661250), 16000)


WRITTEN: dict[str, Callable[[], dict[str, Any]]] = {
    BATCH_2017: batch_2017,
    BATCH_NOW: batch_now,
    SF_FAILED: sf_failed,
    SF_NO_EXIT: sf_no_exit,
    SF_OK: sf_ok,
}

# The real files these stand in for (kept out of the repository: licence unknown).
REAL = {
    BATCH_2017: "batch-job-state-change_SUCCEEDED_qiita-2017.json",
    BATCH_NOW: "batch-job-state-change_SUCCEEDED_umccr-data-portal.json",
    SF_FAILED: "stepfunctions-batch-task-FAILED_exitCode1_nasa-hls.json",
    SF_NO_EXIT: "stepfunctions-batch-task-FAILED_no-exitCode_CannotInspectContainerError"
                "_nasa-hls.json",
    SF_OK: "stepfunctions-batch-task-SUCCEEDED-jobdetail_nasa-hls.json",
}
