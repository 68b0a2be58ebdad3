"""A small reference reader of Batch job-state events, for these tests only.

pipeline_runner must not import ingest (the real normalizer lives there); the tests need to
turn the executors' events into JobStateChange values, so they read the few fields they need.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pipeline_runner.records import REQUIRED_TAGS, JobStateChange

_INSTANCE = re.compile(r"\(instance (i-[0-9a-f]+)\)")


def _ms(value):
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def to_change(event: dict) -> JobStateChange:
    d = event["detail"]
    container = d.get("container") or {}
    last = (d.get("attempts") or [{}])[-1]
    exit_code = container.get("exitCode", (last.get("container") or {}).get("exitCode"))
    reason = d.get("statusReason")
    m = _INSTANCE.search(reason or "")
    resources = {r["type"]: int(r["value"]) for r in container.get("resourceRequirements", [])}
    return JobStateChange(
        job_id=d["jobId"], job_name=d["jobName"], status=d["status"],
        status_at=datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        job_queue=d.get("jobQueue"), status_reason=reason, exit_code=exit_code,
        attempt_count=len(d.get("attempts") or []), started_at=_ms(d.get("startedAt")),
        stopped_at=_ms(d.get("stoppedAt")), instance_id=m.group(1) if m else None,
        instance_type=container.get("instanceType"),
        tags={k: v for k, v in (d.get("tags") or {}).items() if k in REQUIRED_TAGS},
        event_id=event.get("id"), vcpus=resources.get("VCPU"), memory_mib=resources.get("MEMORY"),
    )
