"""AWS Batch job-state changes, from every shape they reach us in, as ``JobStateChange``.

Shapes handled (all in reference-data/aws-events):

* EventBridge "Batch Job State Change" (``detail`` is the job, camelCase): the 2017 schema
  without ``jobArn`` and the current one with ``attempts[]``, ``eksAttempts``,
  ``platformCapabilities``;
* a bare DescribeJobs job detail, or a DescribeJobs reply ``{"jobs": [...]}``;
* Step Functions' ``{"Error": "States.TaskFailed", "Cause": "<JSON string>"}`` whose Cause is
  the job detail in **PascalCase** (``JobId``, ``Attempts[].Container.ExitCode``), and the same
  PascalCase detail bare (a Step Functions task's successful output);
* any of these delivered through SNS or SQS (``job_state_changes`` unwraps the records).

Field choices, from what the real payloads contain:

* Timestamps are epoch milliseconds; they become aware UTC datetimes.
* ``status_at`` is the envelope ``time`` when there is one (when Batch emitted the change). A bare
  job detail has no event time, so it is the latest of ``stoppedAt``, ``startedAt``, ``createdAt``:
  exact for terminal states (stoppedAt), a lower bound otherwise, and — unlike "now" — the same
  value every time the same snapshot is read, so a repeated read writes the same row.
* ``exit_code``: ``container.exitCode``, else the last attempt's; None when Batch gives none
  (a container that never ran or could not be inspected, or a Spot reclaim).
* ``status_reason``: every distinct reason Batch gives, joined by ``"; "``: the job's
  ``statusReason``, the last attempt's ``statusReason``, then the container's ``reason`` (e.g.
  ``CannotInspectContainerError: …``). On a Spot reclaim the job-level reason may be only
  "Essential container in task exited" while the attempt's says ``Host EC2 (instance i-…)
  terminated.``; the container reason is what Batch's retry rules match with ``onReason``.
* ``instance_id``: Batch events carry no EC2 instance id field (``containerInstanceArn`` is an ECS
  id), so it is read from the status reason Batch writes on a reclaim,
  ``Host EC2 (instance i-0282b396e52b4c95d) terminated.``; None otherwise. The event service
  fills it in for the other attempts from ``container_instance_arn`` (``ingest.ecs_describe``).
* ``container_instance_arn``: ``container.containerInstanceArn``, else the last attempt's (set
  once Batch has placed the job: STARTING, RUNNING and the terminal states).
* ``instance_type``: ``container.instanceType`` (a Batch field, set for multi-node jobs; the
  simulated and local executors put the type they ran on there too); None otherwise.
* ``vcpus`` / ``memory_mib``: ``container.resourceRequirements`` (VCPU, MEMORY) first — it is the
  current field and wins over the deprecated ``vcpus``/``memory`` in Batch — else those. Fractional
  Fargate vCPUs (0.25) are rounded up to whole vCPUs, as the contract's field is an int.
* ``job_queue``: the queue *name* (the part after ``job-queue/`` of the ARN Batch sends), the form
  job specs use, so the lake holds one spelling.
* ``tags``: ``detail.tags`` as sent (Batch adds ``resourceArn`` there; it is kept).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.s3_events import (
    check_text,
    detect_kind,
    iso_utc,
    json_object,
    type_name,
    unwrap_record,
)
from lake.errors import InvalidEvent
from pipeline_runner.policy import host_terminated, reclaim_exit
from pipeline_runner.records import JOB_STATES, JobStateChange

_INSTANCE_IN_REASON = re.compile(r"\(instance (i-[0-9a-f]{8,17})\)")
# Epoch milliseconds below this are before 1973: almost surely seconds sent by mistake.
_MIN_EPOCH_MS = 100_000_000_000
_MAX_EPOCH_MS = 32_503_680_000_000  # year 3000
_INT32 = 2**31


@dataclass(frozen=True, slots=True)
class BatchEvents:
    """The job-state changes of a payload, and the records of it that could not be read."""

    changes: list[JobStateChange] = field(default_factory=list)
    invalid: list[InvalidEvent] = field(default_factory=list)


def job_state_change(payload: Any, source: str) -> JobStateChange:
    """The one job-state change in ``payload`` (EventBridge event, job detail, Step Functions
    error, or a DescribeJobs reply with one job); ``InvalidEvent`` naming ``source`` otherwise."""
    if not isinstance(payload, dict):
        raise InvalidEvent(source, None, f"event must be a JSON object, got {type_name(payload)}")
    check_text(payload, source)
    if "Records" in payload:
        raise InvalidEvent(source, None, "an S3 object event, not a Batch job-state event"
                           if detect_kind(payload) == "s3" else
                           "a batch of SNS/SQS records: use job_state_changes")
    if "jobs" in payload and not _has(payload, "jobId"):
        jobs = payload["jobs"]
        if not isinstance(jobs, list) or len(jobs) != 1:
            n = len(jobs) if isinstance(jobs, list) else type_name(jobs)
            raise InvalidEvent(source, None, f"DescribeJobs reply must hold one job here, got {n}; "
                               "use job_state_changes")
        return _job(jobs[0], f"{source}#jobs[0]", None, None)
    if "detail-type" in payload or "detail" in payload:
        return _eventbridge(payload, source)
    if "Cause" in payload and "Error" in payload:
        return _step_functions(payload, source)
    if _has(payload, "jobId"):
        return _job(payload, source, None, None)
    keys = ", ".join(sorted(map(str, payload))[:8]) or "none"
    raise InvalidEvent(source, None, f"not a Batch job-state event (keys: {keys})")


def job_state_changes(payload: Any, source: str) -> BatchEvents:
    """Every job-state change in ``payload``, unwrapping SNS/SQS records and DescribeJobs lists.

    A payload that is not Batch at all raises ``InvalidEvent``; a bad record or job of a batch
    is returned in ``invalid`` so the others go on.
    """
    if not isinstance(payload, dict):
        raise InvalidEvent(source, None, f"event must be a JSON object, got {type_name(payload)}")
    out = BatchEvents()
    records, jobs = payload.get("Records"), payload.get("jobs")
    if records is not None or (jobs is not None and not _has(payload, "jobId")):
        items = records if records is not None else jobs
        name = "Records" if records is not None else "jobs"
        if not isinstance(items, list) or not items:
            raise InvalidEvent(source, None,
                               f"{name} must be a non-empty list, got {type_name(items)}"
                               if not isinstance(items, list) else f"{name} is empty")
        for i, item in enumerate(items):
            where = f"{source}#{name}[{i}]"
            try:
                if not isinstance(item, dict):
                    raise InvalidEvent(where, None, f"must be an object, got {type_name(item)}")
                check_text(item, where)
                if records is not None:
                    _, inner = unwrap_record(item, where)
                    out.changes.append(job_state_change(inner, where))
                else:
                    out.changes.append(_job(item, where, None, None))
            except InvalidEvent as exc:
                out.invalid.append(exc)
        return out
    out.changes.append(job_state_change(payload, source))
    return out


def is_spot_reclaim(change: JobStateChange) -> bool:
    """Whether Batch reports the job's host was taken away (a Spot reclaim), not the job failing.

    The rule is the policy's (``pipeline_runner.policy.failure_kind``): the host-terminated
    reason anywhere in the reasons, with exit code 143, 137 or none.
    """
    return host_terminated(change.status_reason) and reclaim_exit(change.exit_code)


# --- shapes ---------------------------------------------------------------------------------

def _eventbridge(payload: Mapping[str, Any], source: str) -> JobStateChange:
    detail_type = payload.get("detail-type")
    if detail_type != "Batch Job State Change":
        raise InvalidEvent(source, None, f"EventBridge event {detail_type!r} from "
                           f"{payload.get('source')!r} is not a Batch job state change")
    detail = payload.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent(source, None, f"detail must be an object, got {type_name(detail)}")
    at = iso_utc(payload.get("time"), source, "time")
    event_id = payload.get("id")
    return _job(detail, source, at, event_id if isinstance(event_id, str) and event_id else None)


def _step_functions(payload: Mapping[str, Any], source: str) -> JobStateChange:
    error = payload.get("Error")
    try:
        job = json_object(payload.get("Cause"), source, f"Step Functions {error!r} Cause")
    except InvalidEvent as exc:
        raise InvalidEvent(source, None, f"{exc.reason} (not a Batch job detail)") from None
    return _job(job, source, None, None)


def _job(job: Any, where: str, event_at: datetime | None, event_id: str | None) -> JobStateChange:
    if not isinstance(job, dict):
        raise InvalidEvent(where, None, f"job detail must be an object, got {type_name(job)}")
    job_id = _str(job, "jobId", where, required=True)
    where = f"{where} (job {job_id})"  # from here on, errors name the job too
    status = _str(job, "status", where, required=True)
    if status not in JOB_STATES:
        raise InvalidEvent(where, None, f"unknown job status {status!r}; expected one of "
                           f"{', '.join(JOB_STATES)}")
    attempts = _get(job, "attempts")
    if attempts is None:
        attempts = []
    if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
        raise InvalidEvent(where, None, "attempts must be a list of objects")
    last = attempts[-1] if attempts else {}
    container = _obj(job, "container", where)
    last_container = _obj(last, "container", where)

    created_at = _epoch_ms(job, "createdAt", where)
    started_at = _epoch_ms(job, "startedAt", where) or _epoch_ms(last, "startedAt", where)
    stopped_at = _epoch_ms(job, "stoppedAt", where) or _epoch_ms(last, "stoppedAt", where)
    if event_at is None:
        known = [t for t in (stopped_at, started_at, created_at) if t is not None]
        if not known:
            raise InvalidEvent(where, None, "no time: neither an event time nor createdAt, "
                               "startedAt or stoppedAt")
        event_at = max(known)

    exit_code = _int(container, "exitCode", where)
    if exit_code is None:
        exit_code = _int(last_container, "exitCode", where)
    # Every reason Batch gives, job-level first: on a reclaim the job says "Essential container
    # in task exited" while only the attempt says "Host EC2 (instance i-…) terminated."
    reasons = (_str(job, "statusReason", where), _str(last, "statusReason", where),
               _str(container, "reason", where), _str(last_container, "reason", where))
    reason = "; ".join(dict.fromkeys(r for r in reasons if r)) or None

    vcpus, memory = _resources(container, where)
    queue = _str(job, "jobQueue", where)
    return JobStateChange(
        job_id=job_id,
        job_name=_str(job, "jobName", where, required=True),
        status=status,
        status_at=event_at,
        job_queue=queue.rsplit("job-queue/", 1)[-1] if queue else None,
        status_reason=reason,
        exit_code=exit_code,
        attempt_count=len(attempts),
        started_at=started_at,
        stopped_at=stopped_at,
        instance_id=_instance_id(reason, _str(last, "statusReason", where)),
        instance_type=_str(container, "instanceType", where) or
        _str(last_container, "instanceType", where),
        tags=_tags(job, where),
        event_id=event_id,
        vcpus=vcpus,
        memory_mib=memory,
        container_instance_arn=_str(container, "containerInstanceArn", where) or
        _str(last_container, "containerInstanceArn", where),
    )


# --- fields (camelCase from events and DescribeJobs, PascalCase from Step Functions) ----------

def _has(obj: Mapping[str, Any], name: str) -> bool:
    return name in obj or name[0].upper() + name[1:] in obj


def _get(obj: Mapping[str, Any], name: str) -> Any:
    value = obj.get(name)
    return obj.get(name[0].upper() + name[1:]) if value is None else value


def _str(obj: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = _get(obj, name)
    if value is None:
        if required:
            raise InvalidEvent(where, None, f"{name} is missing")
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidEvent(where, None,
                           f"{name} must be a non-empty string, got {type_name(value)}")
    return value or None


def _obj(obj: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = _get(obj, name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(where, None, f"{name} must be an object, got {type_name(value)}")
    return value


def _int(obj: Mapping[str, Any], name: str, where: str) -> int | None:
    value = _get(obj, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(where, None, f"{name} must be a whole number, got {type_name(value)}")
    if not -_INT32 <= value < _INT32:  # the lake's int32 columns
        raise InvalidEvent(where, None, f"{name} is out of range: {value}")
    return value


def _epoch_ms(obj: Mapping[str, Any], name: str, where: str) -> datetime | None:
    value = _get(obj, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidEvent(where, None,
                           f"{name} must be epoch milliseconds, got {type_name(value)}")
    if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
        raise InvalidEvent(where, None, f"{name} {value} is not epoch milliseconds "
                           "(before 1973 or after 3000; seconds sent by mistake?)")
    return datetime.fromtimestamp(value / 1000, UTC)


def _resources(container: Mapping[str, Any], where: str) -> tuple[int | None, int | None]:
    vcpus, memory = _number(container, "vcpus", where), _number(container, "memory", where)
    requirements = _get(container, "resourceRequirements") or []
    if not isinstance(requirements, list):
        raise InvalidEvent(where, None, "resourceRequirements must be a list")
    for req in requirements:
        if not isinstance(req, dict):
            raise InvalidEvent(where, None, "resourceRequirements must be a list of objects")
        kind, value = _get(req, "type"), _get(req, "value")
        if kind not in ("VCPU", "MEMORY"):
            continue  # GPU and others are not priced here
        try:
            amount = float(value)  # Batch sends "2", "0.25", "2000" as strings
        except (TypeError, ValueError, OverflowError):
            raise InvalidEvent(where, None, f"resourceRequirements {kind} value must be a "
                               f"number, got {str(value)[:20]!r}") from None
        if not math.isfinite(amount) or not 0 <= amount < _INT32:
            raise InvalidEvent(where, None, f"resourceRequirements {kind} value {value!r} is "
                               "not a size")
        if kind == "VCPU":
            vcpus = math.ceil(amount)
        else:
            memory = math.ceil(amount)
    return vcpus, memory


def _number(obj: Mapping[str, Any], name: str, where: str) -> int | None:
    value = _int(obj, name, where)
    if value is not None and value < 0:
        raise InvalidEvent(where, None, f"{name} must not be negative, got {value}")
    return value


def _tags(job: Mapping[str, Any], where: str) -> dict[str, str]:
    tags = _get(job, "tags")
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidEvent(where, None, "tags must be an object of strings")
    return dict(tags)


def _instance_id(*reasons: str | None) -> str | None:
    for reason in reasons:
        if reason and (m := _INSTANCE_IN_REASON.search(reason)):
            return m.group(1)
    return None
