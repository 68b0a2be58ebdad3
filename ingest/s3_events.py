"""S3 object-created events, from any of the envelopes they reach a Lambda in, as ``ObjectCreated``.

Envelopes handled (all seen in real captures, see reference-data/aws-events):

* plain S3 notification: ``{"Records": [{"eventName": "ObjectCreated:Put", "s3": {...}}]}``;
* SNS -> Lambda: ``Records[].Sns.Message`` is the S3 notification as a JSON *string*;
* S3 -> SNS -> SQS -> Lambda: ``Records[].body`` is the SNS notification as a JSON string
  (``SigningCertURL`` spelling, ``" : "`` separators) whose ``Message`` is again a JSON string;
  a body that is the S3 notification itself (S3 -> SQS, or SNS raw delivery) is accepted too;
* EventBridge "Object Created": ``detail.bucket.name``, ``detail.object.key/size/etag/sequencer``
  and the envelope ``time`` and ``id`` (also when it arrives as an SQS body).

Object keys are URL-encoded by S3 (``red flower.jpg`` -> ``red+flower.jpg``) and are decoded with
``unquote_plus``. We decode EventBridge keys the same way (the captures here have no character that
tells either way).

What is not an object arrival is *reported*, never silently dropped: ``read_s3_events`` returns
the created objects, the events it skipped on purpose (``s3:TestEvent``, ``ObjectRemoved:*`` and
other non-create events, each with a reason) and, per record, the records it could not read (as
``InvalidEvent``, so one bad record of an SQS batch does not stop the others). A payload that is
not an S3 event at all raises ``InvalidEvent`` naming the source and why.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

from ingest.records import ObjectCreated
from lake.errors import InvalidEvent

Kind = Literal["s3", "batch", "ec2", "unknown"]

MAX_SIZE_BYTES = 2**63 - 1  # the lake's int64; S3 objects stop at 5 TiB
MAX_KEY_BYTES = 1024  # S3's limit on an object key (UTF-8)
# How deep string-encoded JSON may nest (S3 in SNS in SQS is 2); more is not an AWS envelope.
MAX_WRAPPING = 3


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An S3 event that is deliberately not an arrival (a test event, a delete, ...)."""

    where: str  # source and record, e.g. "events.json#Records[0]"
    event_name: str  # "s3:TestEvent", "ObjectRemoved:Delete", "Object Deleted", ...
    reason: str


@dataclass(frozen=True, slots=True)
class S3Events:
    """What one payload said: objects created, events skipped on purpose, unreadable records."""

    created: list[ObjectCreated] = field(default_factory=list)
    skipped: list[SkippedEvent] = field(default_factory=list)
    invalid: list[InvalidEvent] = field(default_factory=list)


# --- text and values shared with batch_events ---------------------------------------------------

def parse_event_text(text: str | bytes, source: str) -> dict[str, Any]:
    """The JSON object in ``text`` (a UTF-8 BOM is tolerated); ``InvalidEvent`` otherwise."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(source, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}") \
                from None
    return json_object(text.removeprefix("\ufeff"), source, "event")


def json_object(text: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise InvalidEvent(where, None, f"{what} must be a JSON string, got {type_name(text)}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(where, None, f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}); it starts {text[:40]!r}") from None
    except RecursionError:
        raise InvalidEvent(where, None, f"{what} is JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise InvalidEvent(where, None, f"{what} is not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(doc, dict):
        raise InvalidEvent(where, None, f"{what} must be a JSON object, got {type_name(doc)}")
    return doc


def check_text(doc: Any, where: str) -> None:
    """Raise ``InvalidEvent`` if a key or string anywhere in ``doc`` is not valid Unicode text.

    JSON may escape a lone surrogate (``"\\ud800"``), which Python decodes into a string that
    cannot be written as UTF-8: in a key, an ETag or a bucket it would fail the lake write of
    the whole batch. Checked per record, so only that record is quarantined.
    """
    stack, path = [(doc, "")], ""
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and not _encodable(k):
                    raise InvalidEvent(where, None, f"a key at {path or '/'} is not valid Unicode "
                                       "(a lone surrogate escape)")
                stack.append((v, f"{path}/{k}"))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, str) and not _encodable(value):
            raise InvalidEvent(where, None, f"{path or 'the value'} is not valid Unicode text "
                               "(a lone surrogate escape)")


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value),
                                                                          type(value).__name__)


def iso_utc(value: Any, where: str, name: str) -> datetime:
    """An ISO-8601 timestamp with a zone (``...Z``) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise InvalidEvent(where, None,
                           f"{name} must be an ISO-8601 string, got {type_name(value)}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(where, None, f"{name} is not an ISO-8601 time: {value[:40]!r}") from None
    if at.tzinfo is None:
        # AWS always sends UTC with "Z"; guessing a zone would shift every duration we compute.
        raise InvalidEvent(where, None, f"{name} has no time zone: {value[:40]!r}")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InvalidEvent(where, None, f"{name} is out of range: {value[:40]!r}") from None


def _text(obj: Mapping[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        got = "missing" if name not in obj else "empty" if value == "" else type_name(value)
        raise InvalidEvent(where, None, f"{name} must be a non-empty string, got {got}")
    return value


def _optional_text(obj: Mapping[str, Any], name: str, where: str) -> str | None:
    return None if obj.get(name) is None else _text(obj, name, where)


def _mapping(obj: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = obj.get(name)
    if not isinstance(value, dict):
        got = "missing" if name not in obj else type_name(value)
        raise InvalidEvent(where, None, f"{name} must be an object, got {got}")
    return value


def _size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (isinstance(value, float) and (not math.isfinite(value) or not value.is_integer())):
        raise InvalidEvent(where, None,
                           f"object size must be a whole number, got {type_name(value)}")
    if not 0 <= value <= MAX_SIZE_BYTES:
        raise InvalidEvent(where, None, f"object size is out of range: {value}")
    return int(value)


def _key(encoded: str, where: str) -> str:
    """The object key, URL-decoded; bounded by S3's limit before decoding, and never a key with a
    ``.`` or ``..`` folder (it would name a sample ``..`` and merge different samples)."""
    if len(encoded) > 3 * MAX_KEY_BYTES:  # "%XX" is 3 characters a byte: too long either way
        raise InvalidEvent(where, None, f"object key is {len(encoded)} characters long; S3 keys "
                           f"are at most {MAX_KEY_BYTES} bytes")
    key = unquote_plus(encoded)
    size = len(key.encode("utf-8", errors="replace"))
    if size > MAX_KEY_BYTES:
        raise InvalidEvent(where, None, f"object key is {size} bytes long; S3 keys are at most "
                           f"{MAX_KEY_BYTES} bytes")
    if any(part in (".", "..") for part in key.split("/")):
        raise InvalidEvent(where, None, f"object key {key[:120]!r} has a '.' or '..' folder: "
                           "it cannot name a sample")
    if "\x00" in key:
        raise InvalidEvent(where, None, f"object key {key[:120]!r} holds a NUL character")
    return key


def _etag(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEvent(where, None, f"eTag must be a string, got {type_name(value)}")
    # S3 APIs quote ETags ("abc"), notifications do not; store one form.
    return value.strip('"') or None


# --- SNS / SQS records, shared with batch_events ---------------------------------------------

def unwrap_record(record: Mapping[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """The envelope and the message inside one SNS or SQS Lambda record.

    ``("sns", message)`` for SNS -> Lambda, ``("sqs-sns", message)`` for SNS -> SQS -> Lambda,
    ``("sqs", body)`` for anything sent straight to SQS (S3, EventBridge or SNS raw delivery).
    """
    if "Sns" in record:
        sns = _mapping(record, "Sns", where)
        return "sns", json_object(sns.get("Message"), where, "Sns.Message")
    if "body" in record:
        body = json_object(record.get("body"), where, "SQS body")
        if body.get("Type") == "Notification" and "Message" in body and "TopicArn" in body:
            return "sqs-sns", json_object(body.get("Message"), where, "SNS Message in SQS body")
        return "sqs", body
    raise InvalidEvent(where, None, "record is neither an S3, an SNS nor an SQS record "
                       f"(keys: {', '.join(sorted(map(str, record))[:8]) or 'none'})")


def _records(payload: Mapping[str, Any], where: str) -> list[Any]:
    records = payload.get("Records")
    if not isinstance(records, list):
        raise InvalidEvent(where, None, f"Records must be a list, got {type_name(records)}")
    if not records:
        raise InvalidEvent(where, None, "Records is empty")
    return records


# --- S3 events ------------------------------------------------------------------------------

def read_s3_events(payload: Any, source: str) -> S3Events:
    """All objects created, events skipped and records unreadable in one S3 event payload.

    Raises ``InvalidEvent`` when the payload as a whole is not an S3 event (wrong type, unknown
    envelope, a Batch event). Problems of single records of a batch are returned in ``invalid``.
    """
    if not isinstance(payload, dict):
        raise InvalidEvent(source, None, f"event must be a JSON object, got {type_name(payload)}")
    out = S3Events()
    _document(payload, source, None, 0, out)
    return out


def object_created_events(payload: Any, source: str) -> list[ObjectCreated]:
    """The objects created in ``payload``, strictly: any unreadable record raises ``InvalidEvent``.

    Test events and non-create events (deletes, restores...) give no objects and no error; use
    ``other_events`` (or ``read_s3_events``) to report them.
    """
    events = read_s3_events(payload, source)
    if events.invalid:
        raise events.invalid[0]
    return events.created


def other_events(payload: Any, source: str) -> list[SkippedEvent]:
    """The events in ``payload`` that are deliberately not arrivals, each with the reason."""
    return read_s3_events(payload, source).skipped


def _document(doc: Mapping[str, Any], where: str, via: str | None, depth: int,
              out: S3Events) -> None:
    if doc.get("Event") == "s3:TestEvent":
        out.skipped.append(SkippedEvent(where, "s3:TestEvent",
                                        "S3 test event, sent when a notification is configured"))
        return
    if "detail-type" in doc or "detail" in doc:
        _eventbridge(doc, where, out)
        return
    if "Records" not in doc:
        raise InvalidEvent(where, None, _not_s3_reason(doc))
    for i, record in enumerate(_records(doc, where)):
        at = f"{where}#Records[{i}]" if depth == 0 else f"{where}/Records[{i}]"
        try:
            if not isinstance(record, dict):
                raise InvalidEvent(at, None, f"record must be an object, got {type_name(record)}")
            check_text(record, at)
            if "s3" in record:
                _s3_record(record, at, via or "s3", out)
                continue
            if depth >= MAX_WRAPPING:
                raise InvalidEvent(at, None, "messages wrapped too deeply to be an AWS envelope")
            envelope, inner = unwrap_record(record, at)
            # A body sent straight to SQS carries the S3 record itself: the envelope stays "s3".
            _document(inner, at, None if envelope == "sqs" else envelope, depth + 1, out)
        except InvalidEvent as exc:
            out.invalid.append(exc)  # one bad record never stops the others


def _not_s3_reason(doc: Mapping[str, Any]) -> str:
    if detect_kind(doc) == "batch":
        return "a Batch job-state event, not an S3 object event"
    keys = ", ".join(sorted(map(str, doc))[:8]) or "none"
    return f"not an S3 event: no Records, EventBridge detail or s3:TestEvent (keys: {keys})"


def _s3_record(record: Mapping[str, Any], where: str, envelope: str, out: S3Events) -> None:
    # MinIO and Ceph prefix event names with "s3:"
    name = _text(record, "eventName", where).removeprefix("s3:")
    if not name.startswith("ObjectCreated:"):
        out.skipped.append(SkippedEvent(where, name, "not an object-created event"))
        return
    at = iso_utc(record.get("eventTime"), where, "eventTime")
    out.created.append(_object_created(_mapping(record, "s3", where), "eTag", at, None, envelope,
                                       where))


def s3_event_id(bucket: str, key: str, version: str | None, at: datetime) -> str:
    """A stable id for an S3 notification record, which has none of its own.

    The same object event gets the same id whatever envelope (plain, SNS, SQS) delivered it,
    so a redelivery is recognisable.
    """
    text = "\x1f".join((bucket, key, version or "", at.astimezone(UTC).isoformat()))
    return "s3-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _eventbridge(doc: Mapping[str, Any], where: str, out: S3Events) -> None:
    check_text(doc, where)
    detail_type = doc.get("detail-type")
    origin = doc.get("source")
    if origin != "aws.s3":
        raise InvalidEvent(where, None, _not_s3_reason(doc) if detect_kind(doc) == "batch" else
                           f"EventBridge event {detail_type!r} from {origin!r} is not an S3 event")
    if not isinstance(detail_type, str):
        raise InvalidEvent(where, None,
                           f"detail-type must be a string, got {type_name(detail_type)}")
    if detail_type != "Object Created":
        out.skipped.append(SkippedEvent(where, detail_type, "not an object-created event"))
        return
    at = iso_utc(doc.get("time"), where, "time")
    event_id = doc.get("id")
    out.created.append(_object_created(
        _mapping(doc, "detail", where), "etag", at,
        event_id if isinstance(event_id, str) and event_id else None, "eventbridge", where,
    ))


def _object_created(body: Mapping[str, Any], etag_field: str, at: datetime,
                    event_id: str | None, envelope: str, where: str) -> ObjectCreated:
    """The object of an S3 notification's ``s3`` or an EventBridge ``detail`` (``bucket.name``,
    ``object.key/size/<etag>/sequencer``); S3 spells the ETag ``eTag``, EventBridge ``etag``."""
    bucket = _text(_mapping(body, "bucket", where), "name", where)
    obj = _mapping(body, "object", where)
    key = _key(_text(obj, "key", where), where)
    etag = _etag(obj.get(etag_field), where)
    sequencer = _optional_text(obj, "sequencer", where)
    return ObjectCreated(
        bucket=bucket, key=key, size_bytes=_size(obj.get("size"), where), etag=etag, event_at=at,
        event_id=event_id or s3_event_id(bucket, key, sequencer or etag, at), envelope=envelope,
        sequencer=sequencer,
    )


# --- routing --------------------------------------------------------------------------------

def detect_kind(payload: Any) -> Kind:
    """Whether ``payload`` is an S3 object event, a Batch job-state event or an EC2 instance
    state-change event, in any envelope.

    Never raises. A batch of records of mixed kinds is "unknown": route records one by one.
    """
    return _kind(payload, 0)


def _kind(doc: Any, depth: int) -> Kind:
    if not isinstance(doc, dict) or depth > MAX_WRAPPING:
        return "unknown"
    if doc.get("Event") == "s3:TestEvent":
        return "s3"
    origin, detail_type = doc.get("source"), doc.get("detail-type")
    if origin == "aws.s3":
        return "s3"
    if origin == "aws.batch" or detail_type == "Batch Job State Change":
        return "batch"
    if detail_type == "EC2 Instance State-change Notification":
        return "ec2"
    if detail_type is not None:
        return "unknown"
    records = doc.get("Records")
    if isinstance(records, list) and records:
        kinds = {_record_kind(r, depth) for r in records}
        return kinds.pop() if len(kinds) == 1 else "unknown"
    if is_batch_document(doc):
        return "batch"
    return "unknown"


def _record_kind(record: Any, depth: int) -> Kind:
    if not isinstance(record, dict):
        return "unknown"
    if "s3" in record:
        return "s3"
    try:
        _, inner = unwrap_record(record, "")
    except InvalidEvent:
        return "unknown"
    return _kind(inner, depth + 1)


def is_batch_document(doc: Mapping[str, Any]) -> bool:
    """A bare Batch job detail (camelCase or PascalCase), a DescribeJobs reply, or a Step
    Functions ``{"Error", "Cause"}`` whose Cause is a job detail."""
    if _is_job_detail(doc):
        return True
    jobs = doc.get("jobs")
    if isinstance(jobs, list) and jobs and all(_is_job_detail(j) for j in jobs):
        return True
    cause = doc.get("Cause")
    if "Error" in doc and isinstance(cause, str):
        try:
            inner = json.loads(cause)
        except (ValueError, RecursionError):
            return False
        return _is_job_detail(inner)
    return False


def _is_job_detail(doc: Any) -> bool:
    return isinstance(doc, dict) and any(
        all(k in doc for k in keys) for keys in (("jobId", "status"), ("JobId", "Status")))
