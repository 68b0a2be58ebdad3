"""``<prefix>-replay.json``: how DRAGEN was run (version, command line, inputs, configuration).

Keys (FORMAT-NOTES §14): ``command_line`` (a string), ``dragen_config`` (a list of
``{"name", "value"}``, all strings), ``inputs`` (a list; ``size_in_bytes`` is a string) and
``system`` (``dragen_version``, ``nodename``, ``kernel_release``). Everything becomes a metric row
(sections ``REPLAY``, ``REPLAY SYSTEM``, ``REPLAY INPUTS`` with the input path as read group,
``REPLAY CONFIG``); the version and the tumour/normal sample names are also returned as facts
for the rest of the run's rows.
"""

from __future__ import annotations

import functools
import json
import shlex
from typing import Any

from ingest.dragen.records import FileParse, Metric
from ingest.dragen.text import BOM, Problem, check_bytes
from ingest.dragen.values import number
from lake.errors import ParseError


@functools.lru_cache(maxsize=4)
def replay_document(data: bytes) -> Any:
    """A replay's JSON (a BOM allowed), or None when it is not JSON. Read for the run's ids and
    for its date, once: the same bytes give the same (shared, read-only) document."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


# What shlex (POSIX mode) reads otherwise than str.split: quotes, the escape, and the whitespace
# str.split breaks at but shlex does not. A command line with none of these splits alike.
_SHELL_SPECIAL = frozenset("\"'\\\x0b\x0c\x1c\x1d\x1e\x1f")


@functools.lru_cache(maxsize=4)
def command_tokens(command_line: str) -> tuple[str, ...]:
    """A command line's words as a POSIX shell splits them (unbalanced quotes: at whitespace).

    Read twice a run (its ids, its tumour/normal names), once: the same line gives the same words.
    A line without quotes or escapes (DRAGEN's usually) is split by ``str.split``, the same words
    at a sixtieth of shlex's cost (0.35 ms for a real replay's line).
    """
    if command_line.isascii() and _SHELL_SPECIAL.isdisjoint(command_line):
        return tuple(command_line.split())
    try:
        return tuple(shlex.split(command_line))
    except ValueError:
        return tuple(command_line.split())


_TUMOR_FLAGS = ("--RGSM-tumor", "--RGID-tumor", "--vc-tumor-sample-name")
_NORMAL_FLAGS = ("--RGSM", "--RGID", "--vc-sample-name")


def sample_names(command_line: str) -> tuple[frozenset[str], frozenset[str]]:
    """(tumour names, normal names) given on a DRAGEN command line; no normals without a tumour."""
    tokens = command_tokens(command_line)
    values: dict[str, list[str]] = {}
    for i, token in enumerate(tokens):
        flag, eq, value = token.partition("=")
        if not eq:
            value = tokens[i + 1] if i + 1 < len(tokens) else ""
        if flag in _TUMOR_FLAGS or flag in _NORMAL_FLAGS:
            values.setdefault(flag, []).append(value)
    tumour = frozenset(v for f in _TUMOR_FLAGS for v in values.get(f, ()) if v)
    normal = frozenset(v for f in _NORMAL_FLAGS for v in values.get(f, ()) if v) if tumour \
        else frozenset()
    return tumour, normal - tumour


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def parse_replay(source: str, data: bytes, *, family: str, file_type: str,
                 phenotype: str | None = None) -> FileParse:
    """Metrics and facts of a replay file.

    Raises:
        ParseError: not UTF-8 JSON, or not an object with the replay keys.
    """
    data = check_bytes(source, data)
    # the document its run's ids and date were read from (the same text, as no BOM is left),
    # else read again here for the reason it is not one
    doc = None if data.startswith(BOM) else replay_document(data)
    try:
        doc = json.loads(data.decode("utf-8")) if doc is None else doc
    except UnicodeDecodeError as e:
        raise ParseError(source, data.count(b"\n", 0, e.start) + 1, "invalid UTF-8") from None
    except json.JSONDecodeError as e:
        raise ParseError(source, e.lineno, f"not JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise ParseError(source, None, "JSON nested too deeply") from None
    if not isinstance(doc, dict) or not ({"command_line", "system", "inputs", "dragen_config"}
                                         & doc.keys()):
        raise ParseError(source, 1, "not a DRAGEN replay: expected an object with command_line, "
                                    "dragen_config, inputs or system")
    out = FileParse(source, family, file_type, phenotype)
    metrics = out.metrics
    command = doc.get("command_line")
    if command is not None:
        command = _text(command)
        metrics.append(Metric(None, "REPLAY", "", "command_line", None, None, command, "text"))
        tumour, normal = sample_names(command)
        out.facts.update(tumour_names=tumour, normal_names=normal)
    system = doc.get("system")
    if isinstance(system, dict):
        for key, value in system.items():
            metrics.append(Metric(None, "REPLAY SYSTEM", "", str(key), None, None, _text(value),
                                  "text"))
        if isinstance(system.get("dragen_version"), str) and system["dragen_version"].strip():
            out.facts["dragen_version"] = system["dragen_version"].strip()
    seen: set[tuple[str, str]] = set()
    inputs = doc.get("inputs")
    for i, item in enumerate(inputs if isinstance(inputs, list) else ()):
        if not isinstance(item, dict):
            out.problems.append(Problem(ParseError(source, None, f"inputs[{i}] is not an object"),
                                        _text(item)))
            continue
        path = _text(item.get("path", f"#{i}"))
        for key, value in item.items():
            if key == "path":
                continue
            if (path, str(key)) in seen:
                out.problems.append(Problem(ParseError(
                    source, None, f"inputs[{i}]: {path} {key} repeats an earlier input"),
                    _text(item)))
                continue
            seen.add((path, str(key)))
            text = _text(value)
            metrics.append(Metric(None, "REPLAY INPUTS", path, str(key), number(text), None, text,
                                  None))
    config = doc.get("dragen_config")
    names: set[str] = set()
    for i, item in enumerate(config if isinstance(config, list) else ()):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                or item["name"] in names:
            out.problems.append(Problem(ParseError(
                source, None, f"dragen_config[{i}] is not a new {{name, value}} setting"),
                _text(item)))
            continue
        names.add(item["name"])
        text = _text(item.get("value"))
        metrics.append(Metric(None, "REPLAY CONFIG", "", item["name"], number(text), None, text,
                              None))
    return out
