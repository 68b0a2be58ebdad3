"""Batch job-state events read as columns: a batch of EventBridge payloads parsed in C++.

The row reader (``ingest.batch_events``) parses one payload at a time in Python (``json.loads``,
a walk over every string, a check per field). In a replay or a backfill (thousands of files),
the common shape — an EventBridge "Batch Job State Change" as Batch sends it — is read here as
one newline-delimited JSON document by ``pyarrow.json`` with an explicit schema of the fields
the lake uses, and turned into the same values ``batch_events._job`` gives, from leaf columns.

Everything this reader is not sure about goes back to the row reader, which names and
quarantines it one by one exactly as before: a payload that is not valid UTF-8, holds a lone
surrogate escape, uses a PascalCase field or a list envelope (SNS/SQS ``Records``, DescribeJobs
``jobs``), has a tag that is not a string, or any value whose type the schema refuses (a parse
error sends the chunk's payloads back in halves until the bad one is alone); and rows whose
values the row reader would refuse (an unknown status, a time that is not
``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, an epoch out of range, a resource that is not a number).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline_runner.change_columns import CHANGE_FIELDS, CHANGE_SCHEMA, EVENT_TAGS, SEQ_STRIDE
from pipeline_runner.records import JOB_STATES


def _pascal(*names: str) -> list[tuple[str, pa.DataType]]:
    """PascalCase spellings (Step Functions' job detail) as fields that must be absent or null:
    any value makes the parse fail, and the row reader, which reads both spellings, takes it."""
    return [(n[0].upper() + n[1:], pa.null()) for n in names]


_CONTAINER = [("exitCode", pa.int64()), ("reason", pa.string()),
              ("instanceType", pa.string()), ("containerInstanceArn", pa.string()),
              *_pascal("exitCode", "reason", "instanceType", "containerInstanceArn")]
_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("source", pa.string()),
    ("Event", pa.string()),
    ("detail-type", pa.string()),
    ("time", pa.string()),
    ("detail", pa.struct([
        ("jobId", pa.string()),
        ("jobName", pa.string()),
        ("status", pa.string()),
        ("statusReason", pa.string()),
        ("jobQueue", pa.string()),
        ("createdAt", pa.int64()),
        ("startedAt", pa.int64()),
        ("stoppedAt", pa.int64()),
        ("attempts", pa.list_(pa.struct([
            ("startedAt", pa.int64()), ("stoppedAt", pa.int64()),
            ("statusReason", pa.string()), ("container", pa.struct(_CONTAINER)),
            *_pascal("startedAt", "stoppedAt", "statusReason", "container"),
        ]))),
        ("container", pa.struct([
            *_CONTAINER, ("vcpus", pa.int64()), ("memory", pa.int64()),
            ("resourceRequirements", pa.list_(pa.struct([
                ("type", pa.string()), ("value", pa.string()), *_pascal("type", "value")]))),
            *_pascal("vcpus", "memory", "resourceRequirements"),
        ])),
        ("tags", pa.struct([(t, pa.string()) for t in EVENT_TAGS])),
        *_pascal("jobId", "jobName", "status", "statusReason", "jobQueue", "createdAt",
                 "startedAt", "stoppedAt", "attempts", "container", "tags"),
    ])),
])

# Cheap screens on the raw text; a payload they catch is read by the row reader.
_TAGS = re.compile(rb'"tags"\s*:\s*(\{[^{}]*\}|null)')
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")
_INSTANCE_IN_REASON = re.compile(r"\(instance (i-[0-9a-f]{8,17})\)")
_MIN_EPOCH_MS, _MAX_EPOCH_MS = 100_000_000_000, 32_503_680_000_000
_INT32 = 2**31
_STATES = frozenset(JOB_STATES)
_BATCH = b'"Batch Job State Change"'
# a JSON string (unrolled: runs of plain characters between escapes), and an object of them
_STRING = rb'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
_WS = rb"[ \t\n\r]*"
_PAIR = _WS + _STRING + _WS + rb":" + _WS + _STRING + _WS
_PLAIN_TAGS = re.compile(rb"\{(?:" + _PAIR + rb"(?:," + _PAIR + rb")*|" + _WS + rb")\}|null")
_LISTS = (b'"Records"', b'"jobs"')  # SNS/SQS records, DescribeJobs replies: the row reader



@dataclass
class ColumnBatch:
    """The changes read as columns, and the payloads (by index) left for the row reader."""

    changes: pa.Table
    rest: list[int] = field(default_factory=list)


def read_job_changes(payloads: Sequence[tuple[str, Any]], chunk: int = 20_000) -> ColumnBatch:
    """The job-state changes of the EventBridge Batch payloads among ``payloads`` as one table
    of ``CHANGE_SCHEMA`` (``seq`` = index * SEQ_STRIDE); the other payloads' indexes in
    ``rest``."""
    lines: list[bytes] = []
    where: list[int] = []
    rest: list[int] = []
    for i, (_, payload) in enumerate(payloads):
        line = _line(payload)
        if line is None:
            rest.append(i)
        else:
            lines.append(line)
            where.append(i)
    parts = []
    for start in range(0, len(lines), chunk):
        parts += _parse(lines[start:start + chunk], where[start:start + chunk], rest)
    columns, refused = _normalize(parts)
    rest += refused
    return ColumnBatch(pa.Table.from_pydict(columns, schema=CHANGE_SCHEMA), sorted(rest))


def _line(payload: Any) -> bytes | None:
    """The payload as one line of NDJSON, or None if the row reader must read it."""
    if isinstance(payload, dict):  # parsed already (the simulated executor's events)
        try:
            payload = json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError):
            return None
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if not isinstance(payload, bytes | bytearray):
        return None
    data = bytes(payload).removeprefix(b"\xef\xbb\xbf")
    if _BATCH not in data or _LISTS[0] in data or _LISTS[1] in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    tags = _TAGS.findall(data)
    if len(tags) > 1 or (tags and not _string_values(tags[0])):
        return None  # a tag that is not a string: the row reader names it
    return data  # line breaks inside it are whitespace (or a bad string the parse refuses)


def _string_values(tags: bytes) -> bool:
    """Whether a ``"tags"`` object (or null) holds strings only, as the row reader requires.
    The usual object (string keys, string values) is told by one regex, not a parse."""
    if _PLAIN_TAGS.fullmatch(tags):
        return True
    try:
        value = json.loads(tags)
    except ValueError:
        return False
    return value is None or (isinstance(value, dict)
                             and all(isinstance(v, str) for v in value.values()))


def _parse(lines: list[bytes], where: list[int], rest: list[int]) -> list[tuple[pa.Table, list]]:
    """Parse lines as one document; on a parse error, each half alone (the bad line ends
    alone and goes to the row reader)."""
    import pyarrow.json as pj

    if not lines:
        return []
    try:
        tbl = pj.read_json(
            io.BytesIO(b"\n".join(lines)),
            read_options=pj.ReadOptions(block_size=max(1 << 20, 2 * sum(map(len, lines)))),
            parse_options=pj.ParseOptions(explicit_schema=_SCHEMA, newlines_in_values=True,
                                          unexpected_field_behavior="ignore"),
        )
        if tbl.num_rows != len(lines):  # a payload that held more than one document
            raise pa.ArrowInvalid("documents and payloads differ")
    except (pa.ArrowInvalid, UnicodeDecodeError):
        if len(lines) == 1:
            rest.append(where[0])
            return []
        half = len(lines) // 2
        return (_parse(lines[:half], where[:half], rest)
                + _parse(lines[half:], where[half:], rest))
    return [(tbl, where)]


def _normalize(parts: list[tuple[pa.Table, list]]) -> tuple[dict[str, list], list[int]]:
    out: dict[str, list] = {f.name: [] for f in CHANGE_SCHEMA}
    refused: list[int] = []
    for tbl, where in parts:
        if not tbl.num_rows:
            continue
        cols = _leaves(tbl)
        times: dict[str, datetime] = {}
        tags = cols.pop()
        bad = set()
        for i, values in zip(where, zip(*cols, strict=True), strict=True):
            row = _change(*values, times)
            if row is None:
                bad.add(i)
                continue
            out["seq"].append(i * SEQ_STRIDE)
            for k, v in zip(CHANGE_FIELDS, row, strict=True):
                out[k].append(v)
        refused += sorted(bad)
        kept = pa.array([i not in bad for i in where], pa.bool_())
        for t in EVENT_TAGS:
            out[f"tag_{t}"] += tags.field(t).filter(kept).to_pylist()
    return out, refused


def _leaves(tbl: pa.Table) -> list:
    """The columns ``_change`` reads, as Python lists of plain values (no nested dicts, which
    cost more to build than everything else), and the tags struct last."""
    import pyarrow.compute as pc

    tbl = tbl.combine_chunks()
    detail = tbl.column("detail").chunk(0) if tbl.num_rows else None
    if detail is None:
        return [[] for _ in range(27)] + [None]
    other = pc.or_kleene(pc.equal(tbl.column("source"), "aws.s3"),
                         pc.equal(tbl.column("Event"), "s3:TestEvent"))
    kind = pc.if_else(pc.fill_null(other, False), None, tbl.column("detail-type"))
    container = detail.field("container")
    attempts = detail.field("attempts")
    # the last attempt of each job: its position in the flattened list (null when none)
    lengths = pc.fill_null(pc.list_value_length(attempts), 0)
    ends = pa.array(attempts.offsets.to_numpy(zero_copy_only=False)[1:] - 1)
    last = attempts.flatten().take(pc.if_else(pc.greater(lengths, 0), ends, None)) \
        if len(attempts.flatten()) else None

    def field(struct, name):
        return [None] * len(detail) if struct is None else struct.field(name).to_pylist()

    last_container = None if last is None else last.field("container")
    return [
        kind.to_pylist(), tbl.column("time").to_pylist(), tbl.column("id").to_pylist(),
        detail.is_valid().to_pylist(),
        *(detail.field(n).to_pylist() for n in (
            "jobId", "jobName", "status", "statusReason", "jobQueue", "createdAt", "startedAt",
            "stoppedAt")),
        lengths.to_pylist(), field(last, "startedAt"), field(last, "stoppedAt"),
        field(last, "statusReason"),
        *(field(container, n) for n in ("exitCode", "reason", "instanceType", "vcpus",
                                        "memory")),
        field(last_container, "exitCode"), field(last_container, "reason"),
        field(last_container, "instanceType"),
        container.field("resourceRequirements").to_pylist(),
        field(container, "containerInstanceArn"), field(last_container, "containerInstanceArn"),
        detail.field("tags"),
    ]


def _change(kind, time, event_id, has_detail, job_id, name, status, reason, queue, created,
            started, stopped, n_attempts, last_started, last_stopped, last_reason, exit_code,
            container_reason, instance_type, vcpus, memory, last_exit, last_container_reason,
            last_instance_type, requirements, arn, last_arn, times) -> tuple | None:
    """One change's values as ``batch_events._job`` makes them, or None to let it read it."""
    if kind != "Batch Job State Change" or not has_detail or not job_id or not name \
            or status not in _STATES or time is None:
        return None
    at = times.get(time)
    if at is None:
        if not _TIME.fullmatch(time):
            return None
        at = times[time] = datetime.fromisoformat(time).astimezone(UTC)
    epochs = (created, started, stopped, last_started, last_stopped)
    if any(e is not None and not _MIN_EPOCH_MS <= e <= _MAX_EPOCH_MS for e in epochs):
        return None
    if exit_code is None:
        exit_code = last_exit
    if exit_code is not None and not -_INT32 <= exit_code < _INT32:
        return None
    resources = _resources(vcpus, memory, requirements)
    if resources is None:
        return None
    last_reason = last_reason or None
    reasons = (reason or None, last_reason, container_reason or None,
               last_container_reason or None)
    joined = "; ".join(dict.fromkeys(r for r in reasons if r)) or None
    queue = queue or None
    return (
        job_id, name, status, at,
        queue.rsplit("job-queue/", 1)[-1] if queue else None,
        joined, exit_code, n_attempts,
        _ms(started or last_started), _ms(stopped or last_stopped),
        _instance_id(joined, last_reason),
        instance_type or last_instance_type or None,
        event_id or None, *resources, arn or last_arn or None,
    )


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def _resources(vcpus: int | None, memory: int | None,
               requirements: list | None) -> tuple[int | None, int | None] | None:
    if any(v is not None and not 0 <= v < _INT32 for v in (vcpus, memory)):
        return None
    for req in requirements or ():
        kind = req.get("type")
        if kind not in ("VCPU", "MEMORY"):
            continue
        try:
            amount = float(req.get("value"))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(amount) or not 0 <= amount < _INT32:
            return None
        if kind == "VCPU":
            vcpus = math.ceil(amount)
        else:
            memory = math.ceil(amount)
    return vcpus, memory


def _instance_id(*reasons: str | None) -> str | None:
    for reason in reasons:
        if reason and (m := _INSTANCE_IN_REASON.search(reason)):
            return m.group(1)
    return None
