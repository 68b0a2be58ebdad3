"""Which sample and run a discovered run folder is: from a mapping, a pattern, or its own files.

Three sources, in this order, and nothing else (no guess the user cannot see):

1. a **mapping** CSV with the header ``folder,sample_id,run_id,run_date`` (``run_date``
   optional: ISO 8601, a date alone is midnight UTC). ``folder`` names a run as the bulk
   command prints it: its folder relative to the root (``2025-03/A1``), or that folder plus the
   output prefix (``2025-03/A1/NA12878``) when a folder holds several runs; an absolute path or
   ``s3://`` URI of the folder works too.
2. a **pattern**: a regular expression with the named groups ``sample_id`` and ``run_id``
   (optionally ``run_date``), searched in the same ``<folder>/<prefix>`` text.
3. the **files**: the sample is the one the replay's command line names (``--RGSM-tumor``, else
   ``--RGSM``, else ``--vc-sample-name``), else the output prefix; the run id is the output
   prefix and the first 12 hex digits of the SHA-256 of the run's metric files (names and
   bytes), so the same run loaded from a copy is the same run, and a re-analysis is another.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ingest.dragen.replay import command_tokens
from lake.errors import ParseError

MAPPING_COLUMNS = ("folder", "sample_id", "run_id", "run_date")
_SAMPLE_FLAGS = ("--RGSM-tumor", "--RGSM", "--vc-tumor-sample-name", "--vc-sample-name")


@dataclass(frozen=True, slots=True)
class RunIds:
    """A run's ids, the date given for it (if any), and where they came from."""

    sample_id: str
    run_id: str
    run_at: datetime | None = None
    origin: str = "files"


def parse_date(text: str, source: str, line: int | None) -> datetime:
    """An ISO 8601 date or time in UTC (no zone: UTC; a date alone: midnight).

    Raises:
        ParseError: not ISO 8601.
    """
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(text.strip()), datetime.min.time())
        except ValueError:
            raise ParseError(source, line, f"run_date {text!r} is not ISO 8601 "
                                           "(e.g. 2025-03-01 or 2025-03-01T12:00:00Z)") from None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _key(text: str) -> str:
    text = text.strip()
    for scheme in ("s3://", "file://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    text = text.rstrip("/")
    while text.startswith("./"):
        text = text[2:]
    return text


@dataclass(frozen=True)
class IdMapping:
    """The rows of a mapping CSV, by normalised folder text."""

    source: str
    rows: Mapping[str, tuple[int, RunIds]]

    @classmethod
    def from_csv(cls, text: str, source: str) -> IdMapping:
        """Read a mapping. Raises ParseError naming the line of the first bad row."""
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in MAPPING_COLUMNS[:3] if c not in header]
        if missing:
            raise ParseError(source, 1, f"the header must name {', '.join(MAPPING_COLUMNS)} "
                                        f"(run_date optional); missing: {', '.join(missing)}")
        col = {name: header.index(name) for name in MAPPING_COLUMNS if name in header}
        rows: dict[str, tuple[int, RunIds]] = {}
        for no, cells in enumerate(reader, 2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ParseError(source, no, f"expected {len(header)} fields, found {len(cells)}")
            get = {name: cells[i].strip() for name, i in col.items()}
            empty = [c for c in MAPPING_COLUMNS[:3] if not get[c]]
            if empty:
                raise ParseError(source, no, f"empty {', '.join(empty)}")
            when = parse_date(get["run_date"], source, no) if get.get("run_date") else None
            key = _key(get["folder"])
            if key in rows:
                raise ParseError(source, no, f"folder {get['folder']!r} repeats line "
                                             f"{rows[key][0]}")
            rows[key] = (no, RunIds(get["sample_id"], get["run_id"], when,
                                    f"mapping {source}:{no}"))
        return cls(source, rows)

    def find(self, label: str, relative_folder: str, folder: str,
             runs_in_folder: int) -> RunIds | None:
        """The ids the mapping gives a run, or None when it names neither the run nor its folder.

        Raises:
            ParseError: the row names a folder that holds several runs (which one is meant?).
        """
        hit = self.rows.get(_key(label))
        if hit is not None:
            return hit[1]
        for key in (_key(relative_folder), _key(folder)):
            hit = self.rows.get(key) if key else None
            if hit is not None:
                if runs_in_folder > 1:
                    raise ParseError(self.source, hit[0], (
                        f"folder {key!r} holds {runs_in_folder} runs; name one as "
                        f"<folder>/<output prefix>, e.g. {label!r}"))
                return hit[1]
        return None


def ids_from_pattern(pattern: re.Pattern[str], label: str) -> RunIds:
    """The ids the groups of ``pattern`` find in ``label``.

    Raises:
        ParseError: the pattern does not match, or a group is empty.
    """
    m = pattern.search(label)
    if m is None:
        raise ParseError(label, None, f"does not match the id pattern {pattern.pattern!r}")
    groups = m.groupdict()
    empty = [g for g in ("sample_id", "run_id") if not groups.get(g)]
    if empty:
        raise ParseError(label, None, f"the id pattern matched, but {', '.join(empty)} is empty")
    when = parse_date(groups["run_date"], label, None) if groups.get("run_date") else None
    return RunIds(groups["sample_id"], groups["run_id"], when, "pattern")


def compile_pattern(text: str) -> re.Pattern[str]:
    """An id pattern, checked to have the ``sample_id`` and ``run_id`` groups.

    Raises:
        ValueError: not a regular expression, or a group is missing.
    """
    pattern = re.compile(text)
    missing = {"sample_id", "run_id"} - set(pattern.groupindex)
    if missing:
        raise ValueError(f"the pattern needs the named groups (?P<sample_id>…) and "
                         f"(?P<run_id>…); missing: {', '.join(sorted(missing))}")
    return pattern


def content_digest(files: Mapping[str, bytes]) -> str:
    """SHA-256 of a run's files (sorted names and bytes): the same for any copy of the run."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.rsplit("/", 1)[-1].encode())
        h.update(b"\0")
        h.update(files[name])
        h.update(b"\0")
    return h.hexdigest()


def replay_sample(command_line: str) -> str | None:
    """The sample a DRAGEN command line names (the tumour's in a tumour/normal run)."""
    tokens = command_tokens(command_line)
    found: dict[str, str] = {}
    for i, token in enumerate(tokens):
        flag, eq, value = token.partition("=")
        if flag in _SAMPLE_FLAGS and flag not in found:
            value = value if eq else (tokens[i + 1] if i + 1 < len(tokens) else "")
            if value and not value.startswith("--"):
                found[flag] = value
    return next((found[f] for f in _SAMPLE_FLAGS if f in found), None)


def ids_from_files(prefix: str | None, fallback_name: str, command_line: str | None,
                   files: Mapping[str, bytes], digest: str | None = None) -> RunIds:
    """Ids from the run's own files (see the module notes); ``digest``: their content digest."""
    stem = prefix or fallback_name
    sample = (replay_sample(command_line) if command_line else None) or stem
    return RunIds(sample, f"{stem}-{(digest or content_digest(files))[:12]}", None, "files")
