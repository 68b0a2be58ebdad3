"""The ``SECTION,RG_or_SAMPLE,METRIC,VALUE[,PCT]`` shape shared by most DRAGEN ``*_metrics.csv``.

Mapping, coverage, variant-calling, gVCF, time, ploidy, trimmer, GC, CNV, SV, ROH, het/hom-ratio,
RNA quantification and FastQC metrics all use it (FORMAT-NOTES §1-12). There is no header and no
quoting; lines have 4 or 5 fields; the 5th is a percent except in ``RUN TIME`` (rounded seconds)
and ``SEX GENOTYPER`` (a confidence, with the sample name in the metric column).
"""

from __future__ import annotations

from functools import lru_cache

from ingest.dragen.records import FileParse, Metric
from ingest.dragen.text import Lines, Problem, no_rows_error, split_lines
from ingest.dragen.values import MISSING, duration_s, number
from lake.errors import ParseError

SHAPE = "SECTION,RG,METRIC,VALUE[,PCT]"
_HEADER_WORDS = frozenset({"section", "#section", "metric", "metric name", "value", "rg",
                           "read group", "sample", "pct", "percent", "name"})
PHENOTYPES = (("TUMOR ", "tumor"), ("NORMAL ", "normal"))


@lru_cache(maxsize=4096)
def split_phenotype(section: str) -> tuple[str | None, str]:
    """``TUMOR MAPPING/ALIGNING SUMMARY`` -> (``tumor``, ``MAPPING/ALIGNING SUMMARY``)."""
    for prefix, phenotype in PHENOTYPES:
        if section.startswith(prefix):
            return phenotype, section[len(prefix):]
    return None, section


@lru_cache(maxsize=4096)
def _section_problem(section: str) -> str | None:
    if not section:
        return "the section (first field) is empty"
    if section.upper() != section or not any(c.isalpha() for c in section):
        return f"{section!r} is not a DRAGEN section (they are upper case)"
    return None


def looks_like_sections(line: str) -> bool:
    """Whether one line has the shape (used to recognise files by content)."""
    parts = line.split(",")
    return 4 <= len(parts) <= 5 and _section_problem(parts[0]) is None and bool(parts[2])


def shape_problem(parts: list[str], first: bool) -> str | None:
    """Why the fields of one line are not ``SECTION,RG,METRIC,VALUE[,PCT]``, or None."""
    n = len(parts)
    if n != 4 and n != 5:
        return f"expected 4 or 5 comma-separated fields ({SHAPE}), found {n}"
    if first and sum(p.strip().lower() in _HEADER_WORDS for p in parts) >= 2:
        return "a header row where none belongs (DRAGEN metric files have none)"
    reason = _section_problem(parts[0])
    if reason is None and not parts[2]:
        return "the metric name (third field) is empty"
    return reason


def raise_no_shape(source: str, problems: list[Problem], skip: int) -> None:
    """Raise the file-level error when not one line had the shape.

    Raises:
        ParseError: always; names the first bad line.
    """
    raise no_rows_error(source, problems, skip, f"DRAGEN {SHAPE}")


def parse_sections(source: str, data: bytes, *, family: str, file_type: str,
                   phenotype: str | None = None) -> FileParse:
    """Records of a SECTION-shaped file.

    Raises:
        ParseError: the file is unreadable, or not one line has the shape (wrong delimiter,
            another file's content).
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    read_metrics(lines, out)
    if not out.metrics:
        raise_no_shape(source, out.problems, len(lines.problems))
    return out


def read_metrics(lines: Lines, out: FileParse) -> None:
    """Append the metric records of ``lines`` to ``out`` (bad lines become problems)."""
    source = lines.source
    seen: dict[tuple[str, str, str], int] = {}
    metrics, problems = out.metrics, out.problems
    first = True
    for no, line in lines.numbered():
        parts = line.split(",")
        reason = shape_problem(parts, first)
        first = False
        if reason is None:
            key = (parts[0], parts[1], parts[2])
            if key in seen:
                reason = f"{parts[0]},{parts[1]},{parts[2]} repeats line {seen[key]}"
        if reason is None:
            seen[key] = no
            record = _record(no, *parts) if len(parts) == 5 else _record(no, *parts, None)
            if not isinstance(record, str):
                metrics.append(record)
                continue
            reason = record
        problems.append(Problem(ParseError(source, no, reason), line))


def _record(no: int, section: str, rg: str, name: str, text: str,
            pct_text: str | None) -> Metric | str:
    """The record of one line, or the reason it cannot be read."""
    phenotype, base = split_phenotype(section)
    if base == "RUN TIME" or (":" in text and name.startswith(("Time ", "Total runtime"))):
        return _time(no, section, rg, name, text, pct_text, phenotype)
    if base == "SEX GENOTYPER":
        # SEX GENOTYPER,,<sample>,<karyotype>[,<confidence>]: the value is the confidence (a
        # ratio, 0-1) and value_text the karyotype; the 5th field is no percent.
        confidence = number(pct_text) if pct_text is not None else None
        if confidence is None and pct_text is not None and pct_text not in MISSING:
            return f"{name}: the confidence {pct_text!r} is not a number"
        return Metric(no, section, rg, name, confidence, None, text, "ratio", phenotype)
    value = number(text)
    unit = None
    if value is None:
        unit = None if text in MISSING else "text"
    pct = None
    if pct_text is not None:
        pct = number(pct_text)
        if pct is None and pct_text not in MISSING:
            return f"{name}: the percent {pct_text!r} is not a number"
    return Metric(no, section, rg, name, value, pct, text, unit, phenotype)


def _time(no: int, section: str, rg: str, name: str, text: str, seconds_text: str | None,
          phenotype: str | None) -> Metric | str:
    seconds = duration_s(text)
    if seconds is None:
        # Not HH:MM:SS: fall back on the rounded seconds column, else a plain number.
        seconds = number(seconds_text) if seconds_text is not None else number(text)
        if seconds is None:
            if text in MISSING:
                return Metric(no, section, rg, name, None, None, text, "s", phenotype)
            return f"{name}: {text!r} is not a time (HH:MM:SS.mmm)"
    return Metric(no, section, rg, name, seconds, None, text, "s", phenotype)
