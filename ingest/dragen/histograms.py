"""Coverage and fragment-length histograms: one record per bin, with the bin's x range as numbers.

- ``*_fine_hist[_tumor|_normal].csv``: header ``Depth,Overall``, then ``depth,count`` for depths
  0..999 and a last ``1000+`` bin. Every column after the first is a series.
- ``*_hist[_tumor|_normal].csv`` (binned): ``PCT of bases in wgs with coverage [100x:inf), 0.00``.
- ``*.fragment_length_hist.csv``: a ``#Sample: NAME`` line, a ``FragmentLength,Count`` header and
  ``length,count`` lines, repeated per sample (tumour/normal runs hold two samples).
"""

from __future__ import annotations

import re

from ingest.dragen.records import Bin, FileParse
from ingest.dragen.text import Problem, split_lines
from ingest.dragen.values import MISSING, number
from lake.errors import ParseError

INF = float("inf")


def _integer_bin(label: str) -> tuple[float, float] | None:
    """``12`` -> (12, 13); ``1000+`` -> (1000, inf)."""
    text = label[:-1] if label.endswith("+") else label
    if not text.isdigit() or not text.isascii():
        return None
    x = float(int(text))
    return (x, INF) if label.endswith("+") else (x, x + 1)


def _finish(out: FileParse, lines_problems: int, shape: str) -> FileParse:
    if not out.bins:
        first = out.problems[lines_problems] if len(out.problems) > lines_problems else None
        raise ParseError(out.source, first.error.line if first else None,
                         f"no line has the {shape} shape" + (f"; first: {first.error.reason}"
                                                             if first else ""))
    return out


def parse_fine_hist(source: str, data: bytes, *, family: str, file_type: str,
                    phenotype: str | None = None) -> FileParse:
    """Bins of a fine coverage histogram (``histogram = coverage_depth``).

    Raises:
        ParseError: the file is unreadable or has no ``depth,count`` line.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    series: list[str] | None = None
    bins, problems = out.bins, out.problems
    seen: set[str] = set()
    for no, line in lines.numbered():
        parts = line.split(",")
        if series is None:
            series = [p.strip() for p in parts[1:]]
            if len(parts) >= 2 and not parts[0].strip().isdigit():
                continue  # the header: Depth,Overall[,…]
            problems.append(Problem(ParseError(source, no, "missing the Depth,<series> header; "
                                                           "the series is named Overall"), line))
            series = ["Overall"] * (len(parts) - 1)
        label = parts[0]
        rng = _integer_bin(label)
        if rng is None or len(parts) != len(series) + 1:
            reason = f"expected <depth>,{','.join(series)} with a whole-number depth"
            problems.append(Problem(ParseError(source, no, reason), line))
            continue
        if label in seen:
            problems.append(Problem(ParseError(source, no, f"depth {label} repeats"), line))
            continue
        seen.add(label)
        for name, text in zip(series, parts[1:], strict=True):
            value = number(text)
            if value is None and text not in MISSING:
                problems.append(Problem(ParseError(source, no, f"{name} count {text!r} is not a "
                                                               "number"), line))
                continue
            bins.append(Bin(no, "coverage_depth", "", "", name, label, rng[0], rng[1], value, text,
                            "positions"))
    return _finish(out, len(lines.problems), "Depth,<series> / <depth>,<count>")


_BINNED = re.compile(r"\[\s*(\d+)x\s*:\s*(?:(\d+)x|inf)\s*\)")
_REGION = re.compile(r" in (\S+) with ")


def parse_binned_hist(source: str, data: bytes, *, family: str, file_type: str,
                      phenotype: str | None = None) -> FileParse:
    """Bins of a binned coverage histogram (``histogram = coverage_depth_binned``, percent).

    Raises:
        ParseError: the file is unreadable or no line is ``<label with [Ax:Bx)>,<pct>``.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    seen: set[str] = set()
    for no, line in lines.numbered():
        label, comma, text = line.rpartition(",")
        m = _BINNED.search(label) if comma else None
        value = number(text) if m else None
        if m is None or (value is None and text.strip() not in MISSING) or "," in label:
            reason = "expected '<PCT of bases in … with coverage [Ax:Bx)>, <percent>'"
            out.problems.append(Problem(ParseError(source, no, reason), line))
            continue
        if label in seen:
            out.problems.append(Problem(ParseError(source, no, "bin repeats"), line))
            continue
        seen.add(label)
        region = _REGION.search(label)
        x_end = float(m.group(2)) if m.group(2) else INF
        out.bins.append(Bin(no, "coverage_depth_binned", "", "", region.group(1) if region else "",
                            label, float(m.group(1)), x_end, value, text, "pct"))
    return _finish(out, len(lines.problems), "'<label [Ax:Bx)>, <percent>'")


def parse_fragment_length_hist(source: str, data: bytes, *, family: str, file_type: str,
                               phenotype: str | None = None) -> FileParse:
    """Bins per sample of a fragment-length histogram (``histogram = fragment_length``).

    Raises:
        ParseError: the file is unreadable or has no ``length,count`` line.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    sample = ""
    seen: dict[tuple[str, str], int] = {}
    bins, problems = out.bins, out.problems
    for no, line in lines.numbered():
        if line[0] == "#":
            if line.startswith("#Sample:"):
                sample = line[len("#Sample:"):].strip()
            continue
        label, comma, text = line.partition(",")
        if label == "FragmentLength":
            continue
        x = int(label) if label.isdigit() and label.isascii() else None
        value = number(text) if x is not None and comma and "," not in text else None
        if value is None:
            problems.append(Problem(ParseError(
                source, no, "expected <fragment length>,<count> (whole numbers)"), line))
            continue
        key = (sample, label)
        if key in seen:
            problems.append(Problem(ParseError(source, no, f"length {label} of sample {sample!r} "
                                                           f"repeats line {seen[key]}"), line))
            continue
        seen[key] = no
        bins.append(Bin(no, "fragment_length", "", "", sample, label, float(x), x + 1.0, value,
                        text, "fragments"))
    return _finish(out, len(lines.problems), "#Sample: / FragmentLength,Count")
