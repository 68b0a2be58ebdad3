"""A seeded mutator: real inputs (AWS events, DRAGEN files, billing exports) bent the ways real
inputs break. The same seed gives the same input, so a failure found by the long run is replayed
by its seed.

Events are mutated as JSON values (a leaf replaced by a lone surrogate, a huge number, a key of
50 KB, a ``..`` folder, a wrong type; a key removed), then serialised the way AWS does (ASCII
with ``\\uXXXX`` escapes), sometimes damaged again as bytes. Text files are mutated as bytes (a
flipped or inserted byte, 0xFF, NUL, CR-only line endings, a cut, a line repeated or dropped, a
number made huge or not a number, a header column repeated).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

SURROGATE = "\ud800"
HUGE_INT = 10**30

# Values a leaf may become: each one a way a real producer (or an attacker) has got it wrong.
_LEAVES: tuple[Callable[[random.Random, Any], Any], ...] = (
    lambda r, v: SURROGATE,
    lambda r, v: f"{v}{SURROGATE}" if isinstance(v, str) else SURROGATE + "x",
    lambda r, v: HUGE_INT,
    lambda r, v: -HUGE_INT,
    lambda r, v: 10**400,
    lambda r, v: 2**63,
    lambda r, v: -1,
    lambda r, v: 1.5,
    lambda r, v: 1e308,
    lambda r, v: None,
    lambda r, v: True,
    lambda r, v: "",
    lambda r, v: [],
    lambda r, v: {},
    lambda r, v: "a" * r.choice((1025, 5000, 50_000)),
    lambda r, v: "../../etc/passwd",
    lambda r, v: "in/../S1/S1_R1_001.fastq.gz",
    lambda r, v: "in/P1/../S1_R1_001.fastq.gz",
    lambda r, v: "x\x00y",
    lambda r, v: "\x00",
    lambda r, v: "é\u2028\ufeff",
    lambda r, v: str(v)[::-1] if v is not None else "z",
    lambda r, v: "1970-01-01T00:00:00",
    lambda r, v: "9999-12-31T23:59:59Z",
    lambda r, v: "NaN",
    lambda r, v: json.dumps(v) if v is not None else "{}",
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``doc`` (dict keys and list indices)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _inner_json(doc: Any) -> list[tuple]:
    """Paths of strings that are JSON documents themselves (SNS Message, SQS body, SFN Cause)."""
    found = []
    for path in _paths(doc):
        v = _get(doc, path)
        if isinstance(v, str) and v[:1] in "{[":
            try:
                json.loads(v)
            except ValueError:
                continue
            found.append(path)
    return found


def mutate_json(rng: random.Random, doc: Any, depth: int = 0) -> Any:
    """``doc`` (parsed JSON, changed in place and returned) with one to three values damaged."""
    nested = _inner_json(doc)
    if nested and depth < 3 and rng.random() < 0.5:
        # Damage the event inside its envelope, where the interesting fields are.
        path = rng.choice(nested)
        inner = mutate_json(rng, json.loads(_get(doc, path)), depth + 1)
        return _set(doc, path, json.dumps(inner))
    for _ in range(rng.randint(1, 3)):
        paths = _paths(doc)
        path = rng.choice(paths)
        parent_is_dict = bool(path) and isinstance(_get(doc, path[:-1]), dict)
        roll = rng.random()
        if parent_is_dict and roll < 0.1:
            del _get(doc, path[:-1])[path[-1]]
        elif parent_is_dict and roll < 0.15:
            parent = _get(doc, path[:-1])
            parent[rng.choice((SURROGATE, "key\x00", "a" * 2000))] = parent.pop(path[-1])
        else:
            doc = _set(doc, path, rng.choice(_LEAVES)(rng, _get(doc, path)))
    return doc


def mutate_event(rng: random.Random, text: bytes) -> bytes:
    """A real event payload, damaged as JSON and sometimes as bytes."""
    doc = mutate_json(rng, json.loads(text))
    out = json.dumps(doc).encode()  # ensure_ascii: a lone surrogate becomes "\ud800", as AWS sends
    if rng.random() < 0.15:
        out = mutate_bytes(rng, out, csv=False)
    return out


def _number_spans(data: bytes) -> list[tuple[int, int]]:
    spans, i, n = [], 0, len(data)
    while i < n:
        if 48 <= data[i] <= 57:
            j = i
            while j < n and (48 <= data[j] <= 57 or data[j] == 46):
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def mutate_bytes(rng: random.Random, data: bytes, *, csv: bool = True) -> bytes:
    """A text file damaged in one to three ways real files get damaged."""
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(_BYTE_MUTATIONS)(rng, data, csv)
    return data


def _at(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def _replace_number(rng: random.Random, data: bytes, _csv: bool) -> bytes:
    spans = _number_spans(data)
    if not spans:
        return data
    a, b = rng.choice(spans)
    new = rng.choice((b"1" + b"0" * 400, b"99999999999999999999999", b"-1", b"1e999", b"nan",
                      b"inf", b"1,5", b"0x10", b"\xff", b"\xed\xa0\x80", b"1_000", b""))
    return data[:a] + new + data[b:]


def _duplicate_header_column(rng: random.Random, data: bytes, csv: bool) -> bytes:
    end = data.find(b"\n")
    if end <= 0 or not csv:
        return data
    header = data[:end].rstrip(b"\r").split(b",")
    header.insert(rng.randrange(len(header) + 1), rng.choice(header))
    return b",".join(header) + data[end:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _repeat_line(rng: random.Random, data: bytes, _csv: bool) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def _drop_line(rng: random.Random, data: bytes, _csv: bool) -> bytes:
    lines = _lines(data)
    if len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def _long_line(rng: random.Random, data: bytes, _csv: bool) -> bytes:
    i = _at(rng, data)
    return data[:i] + b"9" * rng.choice((70_000, 300_000)) + data[i:]


_BYTE_MUTATIONS: tuple[Callable[[random.Random, bytes, bool], bytes], ...] = (
    lambda r, d, c: d[:_at(r, d)],  # cut short
    lambda r, d, c: d.replace(b"\r\n", b"\n").replace(b"\n", b"\r"),  # CR-only (old Mac)
    lambda r, d, c: d.replace(b"\n", b"\r\n"),  # CRLF
    lambda r, d, c: (lambda i: d[:i] + b"\xff" + d[i:])(_at(r, d)),
    lambda r, d, c: (lambda i: d[:i] + b"\x00" + d[i:])(_at(r, d)),
    lambda r, d, c: (lambda i: d[:i] + b"\xed\xa0\x80" + d[i:])(_at(r, d)),  # encoded surrogate
    lambda r, d, c: (lambda i: d[:i] + bytes([d[i] ^ (1 << r.randrange(8))]) + d[i + 1:])(
        r.randrange(len(d))) if d else d,
    lambda r, d, c: (lambda i: d[:i] + r.choice((b",", b"\t", b'"', b"\n", b"\\u", b"\xe2\x80"))
                     + d[i:])(_at(r, d)),
    lambda r, d, c: d.replace(b",", b";"),
    lambda r, d, c: b"\xef\xbb\xbf" + d,
    lambda r, d, c: b"",
    _replace_number,
    _replace_number,
    _duplicate_header_column,
    _repeat_line,
    _drop_line,
    _long_line,
)
