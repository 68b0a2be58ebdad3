"""EC2 instance state changes in, ``instances`` rows out.

Two sources, both real:

* EventBridge "EC2 Instance State-change Notification" (``source`` ``aws.ec2``; ``detail`` holds
  ``instance-id`` and ``state``: pending, running, shutting-down, terminated, stopping,
  stopped). The event's ``time`` is when the instance entered the state. The example in the
  EC2 User Guide ("EC2 instance state-change notification events") is the fixture
  reference-data/aws-events/ec2-instance-state-change_pending_aws-docs.json.
* A DescribeInstances reply (``Reservations[].Instances[]``): ``LaunchTime`` (a ``pending`` row),
  ``InstanceType``, ``Placement.AvailabilityZone``, ``InstanceLifecycle`` (``spot``, absent for
  On-Demand) and the current ``State``. The events carry none of these attributes.

Both are read from SNS/SQS envelopes too (``unwrap_record``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.s3_events import unwrap_record
from lake.errors import InvalidEvent
from pipeline_runner.instances import STATES

DETAIL_TYPE = "EC2 Instance State-change Notification"


def is_ec2_event(doc: Any) -> bool:
    return isinstance(doc, dict) and (
        doc.get("detail-type") == DETAIL_TYPE
        or (doc.get("source") == "aws.ec2" and isinstance(doc.get("detail"), dict)
            and "instance-id" in doc["detail"])
    )


def _time(value: Any, where: str, name: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise InvalidEvent(where, None, f"{name} must be an ISO 8601 time, got {value!r}")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(where, None, f"{name} {value!r} is not an ISO 8601 time") from None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def state_change_row(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The ``instances`` row of one EventBridge EC2 state-change event."""
    detail = doc.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent(where, None, "EC2 state-change event without a detail object")
    instance_id, state = detail.get("instance-id"), detail.get("state")
    if not isinstance(instance_id, str) or not instance_id.startswith("i-"):
        raise InvalidEvent(where, None, f"detail.instance-id {instance_id!r} is not an i-… id")
    if state not in STATES:
        raise InvalidEvent(where, None, f"detail.state {state!r} is not one of {', '.join(STATES)}")
    return {
        "instance_id": instance_id,
        "state": state,
        "state_at": _time(doc.get("time"), where, "time"),
        "region": _text(doc, "region", where),
        "account_id": _text(doc, "account", where),
        "source": "ec2-event",
        "event_id": _text(doc, "id", where),
    }


def _text(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional string field of the envelope; anything else is a bad event, named."""
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidEvent(where, None, f"{key} must be a string, got {type(value).__name__}")
    return value


def ec2_state_changes(doc: Any, where: str) -> list[dict[str, Any]]:
    """The rows of an EC2 state-change event, bare or in SNS/SQS records."""
    if is_ec2_event(doc):
        return [state_change_row(doc, where)]
    records = doc.get("Records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        raise InvalidEvent(where, None, "not an EC2 instance state-change notification")
    rows = []
    for n, record in enumerate(records):
        _, inner = unwrap_record(record, f"{where}#{n}")
        rows += ec2_state_changes(inner, f"{where}#{n}")
    return rows


def described_rows(reply: Mapping[str, Any], region: str | None = None) -> list[dict[str, Any]]:
    """``instances`` rows from a DescribeInstances reply: the launch, as a ``pending`` row at
    ``LaunchTime`` with the attributes the state-change events do not carry."""
    rows = []
    for reservation in reply.get("Reservations", []):
        for inst in reservation.get("Instances", []):
            where = f"DescribeInstances {inst.get('InstanceId')}"
            attrs = {
                "instance_id": inst["InstanceId"],
                "instance_type": inst.get("InstanceType"),
                "capacity": "spot" if inst.get("InstanceLifecycle") == "spot" else "on-demand",
                "availability_zone": (inst.get("Placement") or {}).get("AvailabilityZone"),
                "region": region,
                "source": "describe-instances",
            }
            rows.append({**attrs, "state": "pending",
                         "state_at": _time(inst["LaunchTime"], where, "LaunchTime")})
    return rows
