"""``*.fastqc_metrics.csv``: DRAGEN-FastQC distributions, in the SECTION shape, read as histograms.

Every section is a distribution over read position, quality, GC % or length, with the x value
inside the metric name (``ReadPos 3 A Bases``, ``Q20 Reads``, ``'AGATCGGAAGAG' 12bp Starts``).
Each line becomes one bin of the histogram ``fastqc_<section>``; the series is the read
(``Read1``/``Read2``) plus the base, quantile or adapter the name carries. A name no rule knows
is kept as a bin with no x (e.g. ``'AGATCGGAAGAG' Total Sequence Starts``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.dragen.records import Bin, FileParse
from ingest.dragen.sections import parse_sections
from ingest.dragen.values import slug

_POS = r"ReadPos (?P<x>\d+)(?:-(?P<end>\d+))?"
# section -> (name pattern, series suffix template, unit)
RULES: dict[str, tuple[re.Pattern[str], str, str]] = {
    "READ MEAN QUALITY": (re.compile(r"^Q(?P<x>\d+) Reads$"), "", "reads"),
    "POSITIONAL BASE MEAN QUALITY": (re.compile(rf"^{_POS} (?P<s>\S+) Average Quality$"), "{s}",
                                     "quality"),
    "POSITIONAL BASE CONTENT": (re.compile(rf"^{_POS} (?P<s>\S+) Bases$"), "{s}", "bases"),
    "READ LENGTHS": (re.compile(r"^(?P<x>\d+)(?:-(?P<end>\d+))?bp Length Reads$"), "", "reads"),
    "READ GC CONTENT": (re.compile(r"^(?P<x>\d+)% GC Reads$"), "", "reads"),
    "READ GC CONTENT QUALITY": (re.compile(r"^(?P<x>\d+)% GC Reads Average Quality$"), "",
                                "quality"),
    "SEQUENCE POSITIONS": (re.compile(r"^'(?P<s>[^']*)' (?P<x>\d+)bp Starts$"), "{s}", "reads"),
    "POSITIONAL QUALITY": (re.compile(rf"^{_POS} (?P<s>\d+(?:\.\d+)?)% Quantile QV$"),
                           "{s}% quantile", "quality"),
}
_ADAPTER = re.compile(r"^'(?P<s>[^']*)' ")


@lru_cache(maxsize=65536)
def bin_of(section: str, name: str) -> tuple[str, str, float | None, float | None, str | None]:
    """(histogram, series suffix, x, x_end, unit) for one FastQC metric name."""
    histogram = "fastqc_" + slug(section)
    rule = RULES.get(section)
    if rule is not None:
        pattern, suffix, unit = rule
        m = pattern.match(name)
        if m is not None:
            groups = m.groupdict()
            x = float(groups["x"])
            end = groups.get("end")
            return histogram, suffix.format(**groups), x, (float(end) if end else x) + 1.0, unit
        adapter = _ADAPTER.match(name)
        return histogram, adapter.group("s") if adapter else "", None, None, unit
    return histogram, "", None, None, None


def parse_fastqc(source: str, data: bytes, *, family: str, file_type: str,
                 phenotype: str | None = None) -> FileParse:
    """Bins of a FastQC metrics file.

    Raises:
        ParseError: the file is unreadable or not in the SECTION shape.
    """
    out = parse_sections(source, data, family=family, file_type=file_type, phenotype=phenotype)
    bins = out.bins
    for m in out.metrics:
        histogram, suffix, x, x_end, unit = bin_of(m.section, m.metric_name)
        series = f"{m.read_group} {suffix}" if suffix else m.read_group
        bins.append(Bin(m.line, histogram, m.section, m.read_group, series, m.metric_name, x,
                        x_end, m.value, m.value_text, unit or m.unit))
    out.metrics = []
    return out
