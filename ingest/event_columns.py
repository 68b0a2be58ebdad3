"""Batch job-state events read as columns: a batch of EventBridge payloads parsed in C++.

The row reader (``ingest.batch_events``) parses one payload at a time in Python (``json.loads``,
a walk over every string, a check per field). In a replay or a backfill (thousands of files),
the common shape — an EventBridge "Batch Job State Change" as Batch sends it — is read here
by ``pyarrow.json`` with an explicit schema of the fields the lake uses, a few MB of payloads
joined into one document at a time, and turned into the same values ``batch_events._job``
gives with Arrow compute kernels over the batch's whole columns (no Python value per event).
The text checks that need a scan (UTF-8, the tags' types) run once over each piece's joined
text, not once per payload. Pretty-printed payloads are parsed as they are: each piece is one
block to Arrow, so ``newlines_in_values`` costs nothing (it changes only how blocks are cut).

Everything this reader is not sure about goes back to the row reader, which names and
quarantines it one by one exactly as before: a payload that is not valid UTF-8, holds a lone
surrogate escape, uses a PascalCase field or a list envelope (SNS/SQS ``Records``, DescribeJobs
``jobs``), has a tag that is not a string, or any value whose type the schema refuses (a parse
error sends the piece's payloads back in halves until the bad one is alone); and rows whose
values the row reader would refuse (an unknown status, a time that is not
``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` or not a real date, an epoch out of range, a null in a list
of objects, a resource requirement that is not plain digits).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import pyarrow as pa

from pipeline_runner.change_columns import CHANGE_SCHEMA, EVENT_TAGS, SEQ_STRIDE
from pipeline_runner.records import JOB_STATES

_TS = pa.timestamp("us", tz="UTC")


def _pascal(*names: str) -> list[tuple[str, pa.DataType]]:
    """PascalCase spellings (Step Functions' job detail) as fields that must be absent or null:
    any value makes the parse fail, and the row reader, which reads both spellings, takes it."""
    return [(n[0].upper() + n[1:], pa.null()) for n in names]


_CONTAINER = [("exitCode", pa.int64()), ("reason", pa.string()),
              ("instanceType", pa.string()), ("containerInstanceArn", pa.string()),
              *_pascal("exitCode", "reason", "instanceType", "containerInstanceArn")]
_SCHEMA = pa.schema([
    # SNS/SQS records and DescribeJobs replies hold lists of events: any value fails the
    # parse, and the row reader takes them
    ("Records", pa.null()), ("jobs", pa.null()),
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
# seconds 00-59: Arrow's strptime takes 60 and 61 (and moves on a minute), Python refuses them
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:[0-5]\d(?:\.\d{1,6})?Z")
_MIN_EPOCH_MS, _MAX_EPOCH_MS = 100_000_000_000, 32_503_680_000_000
_INT32 = 2**31
_BATCH = b'"Batch Job State Change"'
_BOM = b"\xef\xbb\xbf"
# a JSON string (unrolled: runs of plain characters between escapes), and an object of them;
# possessive: nothing here needs to back off, and not keeping the places to is faster
_STRING = (rb'"[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})'
           rb'[^"\\\x00-\x1f]*+)*+"')
_WS = rb"[ \t\n\r]*+"
_PAIR = _WS + _STRING + _WS + rb":" + _WS + _STRING + _WS
_PLAIN_TAGS = re.compile(rb"\{(?:" + _PAIR + rb"(?:," + _PAIR + rb")*+|" + _WS + rb")\}|null")
# a "tags" key whose value is not null nor a flat object of strings (the usual value is
# told by the lookahead; the few others are parsed). A second detail.tags fails the parse.
_ODD_TAGS = re.compile(rb'"tags"' + _WS + rb":" + _WS + rb"(?!" + _PLAIN_TAGS.pattern + rb")")
# Text screened and parsed at a time: a few MB stay in the caches and are reused from one
# piece to the next, where a batch's whole text (70 MB) was faulted in afresh each time,
# once joined and again in Arrow's buffers (the parse took twice the CPU).
_PIECE_BYTES = 4 << 20


@dataclass
class ColumnBatch:
    """The changes read as columns, and the payloads (by index) left for the row reader."""

    changes: pa.Table
    rest: list[int] = field(default_factory=list)


def read_job_changes(payloads: Sequence[tuple[str, Any]],
                     piece_bytes: int = _PIECE_BYTES) -> ColumnBatch:
    """The job-state changes of the EventBridge Batch payloads among ``payloads`` as one table
    of ``CHANGE_SCHEMA`` (``seq`` = index * SEQ_STRIDE); the other payloads' indexes in
    ``rest``. The text is screened and parsed ``piece_bytes`` at a time."""
    lines: list[bytes] = []
    where: list[int] = []
    rest: list[int] = []
    for i, (_, payload) in enumerate(payloads):
        line = payload if type(payload) is bytes else _as_bytes(payload)
        if line is not None and _BATCH in line:  # else not a Batch job-state change here
            lines.append(line)
            where.append(i)
        else:
            rest.append(i)
    parts = []
    for lo, hi in _pieces([len(x) for x in lines], piece_bytes):
        some, at, text = _screened(lines[lo:hi], where[lo:hi], rest)
        parts += _parse(some, at, rest, text)
    changes, refused = _normalize(parts)
    return ColumnBatch(changes, sorted(rest + refused))


def _as_bytes(payload: Any) -> bytes | None:
    """A payload that is not bytes as its JSON text, or None if the row reader must read it."""
    if isinstance(payload, dict):  # parsed already (the simulated executor's events)
        try:
            payload = json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError):
            return None
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    return bytes(payload) if isinstance(payload, bytes | bytearray) else None


def _pieces(sizes: list[int], piece_bytes: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive runs of lines of about ``piece_bytes`` (at least one line)."""
    ends = list(accumulate(sizes))
    bounds = [0]
    while bounds[-1] < len(sizes):
        lo = bounds[-1]
        goal = (ends[lo - 1] if lo else 0) + piece_bytes
        bounds.append(min(bisect_left(ends, goal, lo) + 1, len(sizes)))
    return list(zip(bounds, bounds[1:], strict=False))


def _screened(lines: list[bytes], where: list[int],
              rest: list[int]) -> tuple[list[bytes], list[int], bytes | None]:
    """The lines the row reader need not read, screened as one text (a scan per piece, not
    per payload): valid UTF-8 and tags that are strings (the usual flat object of strings told
    by a regex; the few others parsed). The joined text too, when every line passed (the parse
    reads it as it is)."""
    text = b"\n".join(lines)
    # a byte-order mark before a payload (the parse refuses it); memchr of its first byte
    # first, as a search for all three is slow
    if b"\xef" in text and any(x.startswith(_BOM) for x in lines):
        lines = [x.removeprefix(_BOM) for x in lines]
        text = b"\n".join(lines)
    bad: set[int] = set()
    try:  # UTF-8 checked by Arrow over the text in place (a decode would make a copy as large)
        pa.Array.from_buffers(pa.large_binary(), 1, [
            None, pa.array([0, len(text)], pa.int64()).buffers()[1], pa.py_buffer(text),
        ]).cast(pa.large_string())
    except pa.ArrowInvalid:
        bad.update(k for k, x in enumerate(lines) if not _utf8(x))
    odd = [m.start() for m in _ODD_TAGS.finditer(text)]
    if odd:
        starts = list(accumulate((len(x) + 1 for x in lines[:-1]), initial=0))
        for at in odd:
            k = bisect_right(starts, at) - 1
            tags = _TAGS.match(lines[k], at - starts[k])
            if tags is None or not _string_values(tags.group(1)):
                bad.add(k)
    if not bad:
        return lines, where, text
    rest += [where[k] for k in sorted(bad)]
    return ([x for k, x in enumerate(lines) if k not in bad],
            [w for k, w in enumerate(where) if k not in bad], None)


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _string_values(tags: bytes) -> bool:
    """Whether a ``"tags"`` object (or null) holds strings only, as the row reader requires."""
    if _PLAIN_TAGS.fullmatch(tags):
        return True
    try:
        value = json.loads(tags)
    except ValueError:
        return False
    return value is None or (isinstance(value, dict)
                             and all(isinstance(v, str) for v in value.values()))


def _parse(lines: list[bytes], where: list[int], rest: list[int],
           text: bytes | None = None) -> list[tuple[pa.Table, list]]:
    """Parse lines (``text``: the lines joined, if at hand) as one document; on a parse error,
    each half alone (the bad line ends alone and goes to the row reader)."""
    import pyarrow.json as pj

    if not lines:
        return []
    text = b"\n".join(lines) if text is None else text
    try:
        tbl = pj.read_json(
            pa.BufferReader(text),  # no copy of the text
            # one block, parsed on this thread: the pieces are small, and threads add CPU
            read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, 2 * len(text))),
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


def _normalize(parts: list[tuple[pa.Table, list]]) -> tuple[pa.Table, list[int]]:
    """The parsed parts as one table of ``CHANGE_SCHEMA``, and the payloads (indexes) whose
    values the row reader must judge. The parts are put together first: each kernel runs once
    over the batch, not once a part."""
    import pyarrow.compute as pc

    parts = [(tbl, where) for tbl, where in parts if tbl.num_rows]
    if not parts:
        return CHANGE_SCHEMA.empty_table(), []
    tbl = pa.concat_tables([tbl for tbl, _ in parts]).combine_chunks()
    values, ok = _columns(tbl)
    keep = pc.fill_null(ok, False)
    index = pa.array([i for _, where in parts for i in where], pa.int64())
    refused = pc.filter(index, pc.invert(keep)).to_pylist()
    values["seq"] = pc.multiply(index, SEQ_STRIDE)

    def kept(column: pa.Array) -> pa.Array:  # every row, as usual: no copy of the batch
        return pc.filter(column, keep) if refused else column

    return pa.table([kept(values[f.name]).cast(f.type) for f in CHANGE_SCHEMA],
                    schema=CHANGE_SCHEMA), refused


def _columns(tbl: pa.Table) -> tuple[dict[str, pa.Array], pa.Array]:
    """The values ``batch_events._job`` makes, computed on whole columns, and which rows may
    be taken (false or null: the row reader reads that payload and names what is wrong)."""
    import pyarrow.compute as pc

    top = {name: tbl.column(name).chunk(0) for name in tbl.column_names}
    detail = top["detail"]
    job = {name: pc.struct_field(detail, name) for name in (
        "jobId", "jobName", "status", "statusReason", "jobQueue", "createdAt", "startedAt",
        "stoppedAt", "attempts", "container", "tags")}
    container, attempts = job["container"], job["attempts"]
    lengths = pc.fill_null(pc.list_value_length(attempts), 0)
    flat = pc.list_flatten(attempts)
    ends = pc.subtract(attempts.offsets.slice(1), 1)
    last = flat.take(pc.if_else(pc.greater(lengths, 0), ends, None)) if len(flat) \
        else pa.nulls(len(detail), attempts.type.value_type)
    last_container = pc.struct_field(last, "container")

    def field(struct: pa.Array, name: str) -> pa.Array:
        return pc.struct_field(struct, name)

    def text(values: pa.Array) -> pa.Array:  # "" reads as absent, as ``x or None`` does
        return pc.if_else(pc.equal(values, ""), None, values)

    time = top["time"]
    timely = pc.match_substring_regex(time, f"^{_TIME.pattern}$")
    at = pc.strptime(pc.utf8_slice_codeunits(time, 0, 19), format="%Y-%m-%dT%H:%M:%S",
                     unit="us", error_is_null=True)

    def digits(start: int, stop: int) -> pa.Array:  # of a well-formed time ("" otherwise)
        return pc.utf8_slice_codeunits(pc.if_else(timely, time, ""), start, stop)

    micros = pc.cast(pc.utf8_rpad(digits(20, -1), 6, "0"), pa.int64())  # ".ffffff" or none
    epochs = [job["createdAt"], job["startedAt"], job["stoppedAt"], field(last, "startedAt"),
              field(last, "stoppedAt")]
    exit_code = pc.coalesce(field(container, "exitCode"), field(last_container, "exitCode"))
    vcpus, memory, resources_ok = _resources(container, len(detail))
    checks = [
        pc.equal(top["detail-type"], "Batch Job State Change"),
        pc.invert(pc.fill_null(pc.or_kleene(pc.equal(top["source"], "aws.s3"),
                                            pc.equal(top["Event"], "s3:TestEvent")), False)),
        detail.is_valid(),
        pc.greater(pc.utf8_length(job["jobId"]), 0),
        pc.greater(pc.utf8_length(job["jobName"]), 0),
        pc.is_in(job["status"], pa.array(JOB_STATES)),
        timely,
        pc.invert(pc.starts_with(time, "0000")),  # year 0: Python has none
        # strptime moves an impossible date (Feb 30) on to a real one, where Python refuses
        # it: then the day differs (the other fields it takes only in range)
        pc.equal(pc.day(at), pc.cast(pc.utf8_rpad(digits(8, 10), 1, "0"), pa.int64())),
        *(pc.fill_null(pc.and_(pc.greater_equal(e, _MIN_EPOCH_MS),
                               pc.less_equal(e, _MAX_EPOCH_MS)), True) for e in epochs),
        pc.fill_null(pc.and_(pc.greater_equal(exit_code, -_INT32), pc.less(exit_code, _INT32)),
                     True),
        resources_ok,
        _no_null_items(attempts, flat),
    ]
    ok = checks[0]
    for check in checks[1:]:
        ok = pc.and_kleene(ok, check)
    last_reason = text(field(last, "statusReason"))
    reason = _joined([text(job["statusReason"]), last_reason,
                      text(field(container, "reason")), text(field(last_container, "reason"))])
    values = {
        "job_id": job["jobId"], "job_name": job["jobName"], "status": job["status"],
        "status_at": pc.add(at, pc.cast(micros, pa.duration("us"))),
        "job_queue": _queue_names(text(job["jobQueue"])),
        "status_reason": reason, "exit_code": exit_code, "attempt_count": lengths,
        "started_at": _ms(pc.coalesce(job["startedAt"], field(last, "startedAt"))),
        "stopped_at": _ms(pc.coalesce(job["stoppedAt"], field(last, "stoppedAt"))),
        # the reclaim's instance, named in a reason (the last attempt's is among them)
        "instance_id": pc.struct_field(pc.extract_regex(
            reason, r"\(instance (?P<i>i-[0-9a-f]{8,17})\)"), "i"),
        "instance_type": pc.coalesce(text(field(container, "instanceType")),
                                     text(field(last_container, "instanceType"))),
        "event_id": text(top["id"]), "vcpus": vcpus, "memory_mib": memory,
        "container_instance_arn": pc.coalesce(text(field(container, "containerInstanceArn")),
                                              text(field(last_container, "containerInstanceArn"))),
    }
    tags = job["tags"]
    for t in EVENT_TAGS:
        values[f"tag_{t}"] = field(tags, t)
    return values, ok


def _queue_names(queues: pa.Array) -> pa.Array:
    """The part after the last ``job-queue/`` (all of it when there is none), as the row
    reader's ``rsplit``: a split, not a regex (a regex with a capture took 0.8 us a row)."""
    import pyarrow.compute as pc

    parts = pc.split_pattern(queues, "job-queue/", max_splits=1, reverse=True)
    ends = pc.if_else(parts.is_valid(), pc.subtract(parts.offsets[1:], 1), None)
    return pc.list_flatten(parts).take(ends)


def _ms(epoch_ms: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.multiply(epoch_ms, 1000).cast(_TS)  # exact: milliseconds are whole microseconds


def _joined(reasons: list[pa.Array]) -> pa.Array:
    """The reasons, each once, in order, joined by "; " (null when none)."""
    import pyarrow.compute as pc

    joined = reasons[0]
    for i, reason in enumerate(reasons[1:], 1):
        for earlier in reasons[:i]:
            reason = pc.if_else(pc.fill_null(pc.equal(reason, earlier), False), None, reason)
        # pairwise, not binary_join_element_wise(skip): that drops rows with no reason
        both = pc.binary_join_element_wise(joined, reason, "; ")
        joined = pc.coalesce(both, joined, reason)
    return joined


def _no_null_items(lists: pa.Array, flat: pa.Array) -> pa.Array | pa.Scalar:
    """Whether each list holds no null item (the row reader wants objects only)."""
    import pyarrow.compute as pc

    if not flat.null_count:
        return pa.scalar(True)
    bad = pc.filter(pc.list_parent_indices(lists), flat.is_null())
    return pc.invert(pc.is_in(pa.array(range(len(lists)), pa.int64()), bad))


def _resources(container: pa.Array, n: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """vCPUs and MiB: the last VCPU/MEMORY requirement (rounded up), else ``vcpus`` /
    ``memory``; and whether the row's values are sizes the row reader takes. A requirement
    whose value is not plain digits (``1e3``, `` 2``, ``inf``…) is left to the row reader."""
    import pyarrow.compute as pc

    out, ok = [], _no_null_items(*_requirements(container))
    for name in ("vcpus", "memory"):
        value = pc.struct_field(container, name)
        ok = pc.and_(ok, pc.fill_null(pc.and_(pc.greater_equal(value, 0),
                                              pc.less(value, _INT32)), True))
        out.append(value)
    reqs, flat = _requirements(container)
    if not len(flat):
        return out[0], out[1], ok
    parents = pc.list_parent_indices(reqs)
    kinds, amounts = pc.struct_field(flat, "type"), pc.struct_field(flat, "value")
    priced = pc.fill_null(pc.is_in(kinds, pa.array(["VCPU", "MEMORY"])), False)
    plain = pc.fill_null(pc.match_substring_regex(amounts, r"^[0-9]{1,10}(\.[0-9]+)?$"), False)
    unsure = pc.filter(parents, pc.and_(priced, pc.invert(plain)))
    numbers = pc.ceil(pc.cast(pc.if_else(pc.and_(priced, plain), amounts, "0"), pa.float64()))
    too_big = pc.filter(parents, pc.and_(priced, pc.greater_equal(numbers, float(_INT32))))
    rows = pa.array(range(n), pa.int64())
    ok = pc.and_(ok, pc.invert(pc.is_in(rows, pa.concat_arrays([unsure, too_big]))))
    for k, kind in enumerate(("VCPU", "MEMORY")):
        picked = pc.indices_nonzero(pc.fill_null(pc.equal(kinds, kind), False))
        if not len(picked):
            continue
        # the last requirement of its kind in each row wins, as in the row reader's loop:
        # of a row's picks (in order), the one whose next pick is another row's
        owners = parents.take(picked)
        last = pc.not_equal(owners, pa.concat_arrays([owners[1:], pa.array([-1], pa.int64())]))
        owners, amounts = pc.filter(owners, last), pc.filter(numbers.take(picked), last)
        given = amounts.take(pc.index_in(rows, owners))  # null where the row has none
        out[k] = pc.if_else(pc.is_valid(given), pc.cast(given, pa.int64()), out[k])
    return out[0], out[1], ok


def _requirements(container: pa.Array) -> tuple[pa.Array, pa.Array]:
    import pyarrow.compute as pc

    reqs = pc.struct_field(container, "resourceRequirements")
    return reqs, pc.list_flatten(reqs)
