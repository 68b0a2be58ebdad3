"""Where the project and the sample are in an object key: the input layout, as configuration.

A layout (``SEQLEDGER_INPUT_LAYOUT``) is one or more patterns over the key's ``/``-separated
parts, separated by ``|`` and tried in order; the first that fits wins:

* ``{project}`` — one folder, the project;
* ``{sample}`` — one folder, the sample;
* ``{file}`` — the file name (always last);
* ``*`` — exactly one folder, any name; ``**`` — any number of folders, none included;
* anything else — one folder whose name matches it as a glob (``incoming``, ``run_*``).

The default, ``**/{project}/**/{sample}/{file} | **/{file}``, reads real buckets: a prefix,
the project, any folders (a date, a batch, a flow cell, ``name=value`` partitions), the sample
folder, the file; and a file with fewer than two folders above it gets its sample from its name
and no project.

When ``**`` lets a key fit in several ways, the reading chosen is, in this order of weight:
the one whose project is a registered project (``SEQLEDGER_PROJECTS``); whose sample folder is
the sample the file name carries; whose sample and project are not routine folders (dates,
``name=value`` partitions, flow cells, run folders, lanes); the nearest to the file. A
``project=X`` or ``sample=X`` partition folder gives its value. ``.`` and ``..`` are never a
project or a sample.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

DEFAULT_LAYOUT = "**/{project}/**/{sample}/{file} | **/{file}"
LAYOUT_ENV = "SEQLEDGER_INPUT_LAYOUT"

_TOKENS = ("{project}", "{sample}", "{file}", "*", "**")
# Folders that organise a bucket rather than name a project or a sample.
_ROUTINE = (
    re.compile(r"^\d{4}([-_.]?\d{2}){1,2}([T_-]?\d{2,6})?$"),  # 2024-05-01, 20240501, 2024_05
    re.compile(r"^\d{6,8}_[A-Za-z0-9]+_\d+_[A-Za-z0-9-]+$"),  # run folder 240501_A00123_0456_BH..
    re.compile(r"^[AB]?[A-Z0-9]{5,}(XX|XY|X2|X3|X5|M5|DSX[XY]|DRX[XY])$"),  # flow cell id
    re.compile(r"^(L|lane[_-]?)\d{1,3}$", re.IGNORECASE),  # lane folders
    re.compile(r"^(fastq|fastqs|raw|data|incoming|inbox|upload|uploads|analysis|reads)$",
               re.IGNORECASE),
)
_PARTITION = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_-]*)=(?P<value>.*)$")
_NAME_SAMPLE = re.compile(r"^(?P<sample>.+?)_S\d+(?:_L\d{3})?_[RI]\d_\d{3}\.", re.IGNORECASE)


class LayoutError(ValueError):
    """A layout setting that cannot be a layout."""


@dataclass(frozen=True, slots=True)
class KeyParts:
    """What a layout read from a key: the project (None if the layout has none) and sample."""

    project: str | None
    sample_id: str | None  # None: the layout has no sample folder, take it from the name
    file_name: str


@dataclass(frozen=True, slots=True)
class InputLayout:
    """A parsed layout: patterns tried in order, and the text it was written as."""

    text: str
    patterns: tuple[tuple[str, ...], ...]

    def read(self, key: str, projects: Collection[str] = ()) -> KeyParts | None:
        """The project and sample of ``key`` (URL-decoded), or None when no pattern fits."""
        parts = [p for p in key.split("/") if p]
        if not parts:
            return None
        for pattern in self.patterns:
            readings = list(_matches(pattern, parts, 0, {}))
            if readings:
                best = max(readings, key=lambda r: _score(r, parts, projects))
                return _key_parts(best, parts)
        return None


def parse_layout(text: str) -> InputLayout:
    """A layout from its setting text; ``LayoutError`` saying what is wrong otherwise."""
    patterns = []
    for alternative in text.split("|"):
        segments = tuple(s.strip() for s in alternative.strip().strip("/").split("/"))
        if segments == ("",):
            raise LayoutError(f"{LAYOUT_ENV}={text!r}: an empty pattern")
        if segments[-1] != "{file}" or segments.count("{file}") != 1:
            raise LayoutError(f"{LAYOUT_ENV}={text!r}: each pattern ends with {{file}}, once")
        for name in ("{project}", "{sample}"):
            if segments.count(name) > 1:
                raise LayoutError(f"{LAYOUT_ENV}={text!r}: {name} appears twice in a pattern")
        bad = [s for s in segments if "{" in s and s not in _TOKENS]
        if bad:
            raise LayoutError(f"{LAYOUT_ENV}={text!r}: unknown placeholder {bad[0]}; use "
                              "{project}, {sample}, {file}, * or **")
        if "" in segments:
            raise LayoutError(f"{LAYOUT_ENV}={text!r}: an empty folder in a pattern")
        patterns.append(segments)
    return InputLayout(text.strip(), tuple(patterns))


def _matches(pattern: tuple[str, ...], parts: list[str], i: int,
             got: dict[str, int]) -> Iterator[dict[str, int]]:
    """Every way ``pattern`` fits ``parts[i:]``: the index of each placeholder's part."""
    if not pattern:
        if i == len(parts):
            yield dict(got)
        return
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        for j in range(i, len(parts)):  # never swallow the file
            yield from _matches(rest, parts, j, got)
        return
    if i >= len(parts):
        return
    part = parts[i]
    is_file = i == len(parts) - 1
    if head == "{file}":
        if is_file:
            yield from _matches(rest, parts, i + 1, {**got, "file": i})
        return
    if is_file:
        return
    if head in ("{project}", "{sample}"):
        if part in (".", ".."):
            return
        yield from _matches(rest, parts, i + 1, {**got, head[1:-1]: i})
    elif head == "*" or fnmatch.fnmatchcase(part, head):
        yield from _matches(rest, parts, i + 1, got)


def _value(part: str, name: str) -> str:
    """A folder's value as ``name``: ``project=X`` gives X for the project."""
    m = _PARTITION.match(part)
    return m["value"] if m and m["name"].lower() in (name, f"{name}_id", f"{name}id") else part


def _routine(part: str, name: str) -> bool:
    if _PARTITION.match(part):
        return _value(part, name) == part  # a partition of another name
    return any(p.match(part) for p in _ROUTINE)


def _score(reading: dict[str, int], parts: list[str], projects: Collection[str]) -> tuple:
    p, s = reading.get("project"), reading.get("sample")
    project = _value(parts[p], "project") if p is not None else None
    sample = _value(parts[s], "sample") if s is not None else None
    named = _NAME_SAMPLE.match(parts[-1])
    return (
        project is not None and project in projects,
        sample is not None and named is not None and named["sample"] == sample,
        s is None or not _routine(parts[s], "sample"),
        p is None or not _routine(parts[p], "project"),
        -1 if s is None else s,
        -1 if p is None else p,
    )


def _key_parts(reading: dict[str, int], parts: list[str]) -> KeyParts:
    p, s = reading.get("project"), reading.get("sample")
    sample = _value(parts[s], "sample") if s is not None else None
    project = _value(parts[p], "project") if p is not None else None
    return KeyParts(project or None, sample if sample not in ("", ".", "..") else None,
                    parts[-1])


DEFAULT = parse_layout(DEFAULT_LAYOUT)
