"""The AWS Batch executor: a pure request builder and a thin client wrapper.

``build_submit_request`` turns a JobSpec into the exact ``SubmitJob`` request; ``BatchExecutor``
checks the tags and sends it. Job state changes normally arrive through EventBridge; ``poll``
asks DescribeJobs instead, for setups without an event rule (and for tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lake.errors import SubmitError, TransientError
from pipeline_runner.executors.base import DETAIL_TYPE, SOURCE, env_list, iso_z
from pipeline_runner.records import TERMINAL_STATES, JobSpec
from pipeline_runner.tags import validate_tags

MIN_TIMEOUT_S = 60  # Batch refuses attemptDurationSeconds below 60
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
               "ServiceUnavailable", "InternalServerError", "ServerException"}


def build_submit_request(spec: JobSpec, job_definition: str) -> dict[str, Any]:
    """The SubmitJob request for a spec. Pure: no AWS call, no validation beyond shape."""
    request: dict[str, Any] = {
        "jobName": spec.job_name,
        "jobQueue": spec.job_queue,
        "jobDefinition": job_definition,
        "containerOverrides": {
            "command": list(spec.command),
            "resourceRequirements": [
                {"type": "VCPU", "value": str(spec.vcpus)},
                {"type": "MEMORY", "value": str(spec.memory_mib)},
            ],
            "environment": env_list(spec.environment),
        },
        "tags": dict(spec.tags),
        # Tags reach the ECS task, so split cost allocation data can price the job by tag.
        "propagateTags": True,
        # One Batch attempt per job: OUR policy resubmits. Batch-internal retries would be
        # invisible to the lake (no row, no decision), would stay on the same queue (no move
        # from Spot to On-Demand after repeated reclaims), would retry deterministic application
        # errors, and could not stop at the run's spend cap.
        "retryStrategy": {"attempts": 1},
    }
    if spec.timeout_s:
        request["timeout"] = {"attemptDurationSeconds": max(int(spec.timeout_s), MIN_TIMEOUT_S)}
    return request


class BatchExecutor:
    """Submits jobs to AWS Batch through a boto3 Batch client."""

    name = "batch"

    def __init__(self, client: Any, job_definition: str, queues: Iterable[str] = ()) -> None:
        self.client = client
        self.job_definition = job_definition
        self.queues = tuple(queues)  # searched for earlier submissions of a job name
        self._seen: dict[str, str] = {}  # job id -> last status reported by poll

    @classmethod
    def create(cls, job_definition: str, *, region: str | None = None,
               endpoint_url: str | None = None, queues: Iterable[str] = ()) -> BatchExecutor:
        """A BatchExecutor with its own boto3 client."""
        import boto3

        return cls(boto3.client("batch", region_name=region, endpoint_url=endpoint_url),
                   job_definition, queues)

    def submit(self, spec: JobSpec) -> str:
        """Validate the tags and submit; returns Batch's job id.

        Raises:
            SubmitError: missing/invalid tags, or Batch refused the request.
            TransientError: throttling or a server error; submitting again may work.
        """
        validate_tags(spec.tags, spec.job_name)
        request = build_submit_request(spec, self.job_definition)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.submit_job(**request)
        except ClientError as e:
            raise _client_error(e, f"job {spec.job_name}: Batch refused SubmitJob") from e
        except BotoCoreError as e:
            raise TransientError(f"job {spec.job_name}: could not reach Batch: {e}") from e
        job_id = response["jobId"]
        self._seen.setdefault(job_id, "SUBMITTED")
        return job_id

    def find(self, spec: JobSpec) -> list[str]:
        """Ids of the jobs named ``spec.job_name`` on its queue and ours, oldest first.

        ListJobs with a JOB_NAME filter returns jobs in every status, so a job submitted by a
        process that died before recording it is found whatever it has done since.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        found: dict[str, int] = {}
        for queue in dict.fromkeys((spec.job_queue, *self.queues)):
            kwargs: dict[str, Any] = {
                "jobQueue": queue, "filters": [{"name": "JOB_NAME", "values": [spec.job_name]}]}
            try:
                while True:
                    page = self.client.list_jobs(**kwargs)
                    for job in page.get("jobSummaryList", []):
                        if job.get("jobName") == spec.job_name:
                            found.setdefault(job["jobId"], job.get("createdAt") or 0)
                    if not page.get("nextToken"):
                        break
                    kwargs["nextToken"] = page["nextToken"]
            except ClientError as e:
                raise _client_error(e, f"job {spec.job_name}: ListJobs on {queue}") from e
            except BotoCoreError as e:
                raise TransientError(f"job {spec.job_name}: could not reach Batch: {e}") from e
        return sorted(found, key=lambda j: (found[j], j))

    def terminate(self, job_id: str, reason: str) -> None:
        """TerminateJob (a no-op for a job that has finished)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.terminate_job(jobId=job_id, reason=reason[:1024])
        except ClientError as e:
            raise _client_error(e, f"job {job_id}: TerminateJob") from e
        except BotoCoreError as e:
            raise TransientError(f"job {job_id}: could not reach Batch: {e}") from e

    def poll(self, now: datetime | None = None, job_ids: Iterable[str] | None = None
             ) -> list[dict[str, Any]]:
        """DescribeJobs for the jobs not yet finished; an event per status change seen."""
        now = now or datetime.now(UTC)
        ids = list(job_ids) if job_ids is not None else \
            [j for j, s in self._seen.items() if s not in TERMINAL_STATES]
        events = []
        for i in range(0, len(ids), 100):  # DescribeJobs takes at most 100 ids
            for job in self.client.describe_jobs(jobs=ids[i:i + 100]).get("jobs", []):
                if self._seen.get(job["jobId"]) == job["status"]:
                    continue
                self._seen[job["jobId"]] = job["status"]
                events.append(describe_to_event(job, now))
        return events


def _client_error(e: Any, what: str) -> SubmitError | TransientError:
    """A Batch ClientError as ours: throttling and 5xx may pass, the rest will not."""
    code = e.response.get("Error", {}).get("Code", "")
    message = f"{what} ({code}): {e}"
    if code in _THROTTLING or e.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode", 0) >= 500:
        return TransientError(message)
    return SubmitError(message)


def describe_to_event(job: dict[str, Any], at: datetime, region: str | None = None,
                      account: str | None = None) -> dict[str, Any]:
    """A DescribeJobs job wrapped as the EventBridge event Batch would have sent."""
    arn = job.get("jobArn") or ""
    parts = arn.split(":")
    region = region or (parts[3] if len(parts) > 4 else "")
    account = account or (parts[4] if len(parts) > 4 else "")
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job['jobId']}/{job['status']}")),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": iso_z(at),
        "region": region,
        "resources": [arn] if arn else [],
        "detail": job,
    }
