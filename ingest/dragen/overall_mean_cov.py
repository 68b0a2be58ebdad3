"""``*_overall_mean_cov[_tumor|_normal].csv``: one line, ``<metric name>,<value>``, no section.

The value is preceded by a space in real files (``Average alignment coverage over wgs, 0.50``);
in tumour/normal runs the name starts with ``TUMOR ``/``NORMAL ``; the region may be a BED path
(``… over C:/path/to/QC_1.bed,0.47``), so the value is what follows the *last* comma.
"""

from __future__ import annotations

from ingest.dragen.records import FileParse, Metric
from ingest.dragen.sections import split_phenotype
from ingest.dragen.text import Problem, split_lines
from ingest.dragen.values import MISSING, number
from lake.errors import ParseError

SECTION = ""  # the file has no section column


def parse_overall_mean_cov(source: str, data: bytes, *, family: str, file_type: str,
                           phenotype: str | None = None) -> FileParse:
    """The single metric of an overall-mean-coverage file.

    Raises:
        ParseError: the file is unreadable or its first line is not ``name,value``.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    for no, line in lines.numbered():
        name, comma, text = line.rpartition(",")
        reason = None
        if not comma or not name.strip():
            reason = "expected '<metric name>,<value>'"
        elif "," in name:
            reason = f"expected 2 comma-separated fields, found {line.count(',') + 1}"
        value = number(text) if reason is None else None
        if reason is None and value is None and text.strip() not in MISSING:
            reason = f"the value {text.strip()!r} is not a number"
        if reason is not None:
            if not out.metrics and no == 1:
                raise ParseError(source, no, f"not an overall mean coverage file: {reason}")
            out.problems.append(Problem(ParseError(source, no, reason), line))
            continue
        name_phenotype, _ = split_phenotype(name)
        out.metrics.append(Metric(no, SECTION, "", name, value, None, text, "x", name_phenotype))
    if not out.metrics and not out.problems:
        raise ParseError(source, None, "no metric line")
    return out
