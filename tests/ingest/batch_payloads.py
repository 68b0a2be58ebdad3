"""EventBridge "Batch Job State Change" payloads for tests, in the shape of the reference events.

The job-level and the attempt-level status reasons are separate arguments because real
payloads differ there: on a Spot reclaim the job says "Essential container in task exited"
while ``attempts[-1].statusReason`` says ``Host EC2 (instance i-…) terminated.``
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _ms(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


def job_event(job_id: str, job_name: str, status: str, at: datetime, *, queue: str,
              tags: dict[str, str], created_at: datetime, started_at: datetime | None = None,
              stopped_at: datetime | None = None, reason: str | None = None,
              attempt_reason: str | None = None, exit_code: int | None = None,
              instance_type: str = "f1.4xlarge") -> dict[str, Any]:
    """One EventBridge Batch job-state event (camelCase detail, as Batch sends it)."""
    container: dict[str, Any] = {"instanceType": instance_type,
                                 "resourceRequirements": [{"value": "16", "type": "VCPU"},
                                                          {"value": "234496", "type": "MEMORY"}]}
    attempts = []
    if status in ("SUCCEEDED", "FAILED") and started_at is not None:
        attempt_container: dict[str, Any] = {}
        if exit_code is not None:
            attempt_container["exitCode"] = exit_code
            container["exitCode"] = exit_code
        attempts.append({"container": attempt_container, "startedAt": _ms(started_at),
                         "stoppedAt": _ms(stopped_at), "statusReason": attempt_reason})
    detail: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}",
        "jobName": job_name,
        "jobId": job_id,
        "jobQueue": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{queue}",
        "status": status,
        "attempts": attempts,
        "createdAt": _ms(created_at),
        "dependsOn": [],
        "container": container,
        "tags": dict(tags),
        "platformCapabilities": ["EC2"],
    }
    if reason:
        detail["statusReason"] = reason
    if started_at is not None:
        detail["startedAt"] = _ms(started_at)
    if stopped_at is not None:
        detail["stoppedAt"] = _ms(stopped_at)
    digest = hashlib.sha256(f"{job_id}|{status}|{at.isoformat()}".encode()).hexdigest()
    return {
        "version": "0",
        "id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": ACCOUNT,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [detail["jobArn"]],
        "detail": detail,
    }
