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

import pyarrow as pa

from ingest.dragen import columnar
from ingest.dragen.records import Block, FileParse, Same
from ingest.dragen.sections import raise_no_shape, shape_problem
from ingest.dragen.text import Problem, split_lines
from ingest.dragen.values import MISSING, number, slug
from lake.errors import ParseError

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
    """Bins of a FastQC metrics file (``out.bins``).

    Raises:
        ParseError: the file is unreadable or not in the SECTION shape.
    """
    text = columnar.plain_text(source, data)
    fast = _fast(text, phenotype) if text is not None else None
    if fast is not None:
        return FileParse(source, family, file_type, phenotype, bins=fast)
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    problems = out.problems
    seen: dict[tuple[str, str, str], int] = {}
    nos, hists, sections, rgs, series, labels, xs, ends, values, texts, units = \
        [], [], [], [], [], [], [], [], [], [], []
    first = True
    for no, line in lines.numbered():
        parts = line.split(",")
        reason = shape_problem(parts, first)
        first = False
        if reason is None:
            section, rg, name = parts[0], parts[1], parts[2]
            key = (section, rg, name)
            if key in seen:
                reason = f"{section},{rg},{name} repeats line {seen[key]}"
        if reason is not None:
            problems.append(Problem(ParseError(source, no, reason), line))
            continue
        seen[key] = no
        text = parts[3]
        value = number(text)
        histogram, suffix, x, x_end, unit = bin_of(section, name)
        nos.append(no)
        hists.append(histogram)
        sections.append(section)
        rgs.append(rg)
        series.append(f"{rg} {suffix}" if suffix else rg)
        labels.append(name)
        xs.append(x)
        ends.append(x_end)
        values.append(value)
        texts.append(None if value is not None else text)
        units.append(unit)
    if not nos:
        raise_no_shape(source, problems, len(lines.problems))
    out.bins = Block(len(nos), {
        "line": nos, "histogram": hists, "section": sections, "read_group": rgs, "series": series,
        "label": labels, "x": xs, "x_end": ends, "value": values, "value_text": texts,
        "unit": units, "phenotype": Same(phenotype),
    })
    return out


def _derive_bins(sections: list[str], rgs: list[str], names: list[str],
                 ) -> tuple[pa.Array, ...] | None:
    """Per-row bin columns for a file's (section, read group, name) keys, and its sections and
    read groups; None if a section is not in the SECTION shape, a name is empty or a key repeats.

    The text columns come dictionary-encoded (a few distinct values each, in the order of
    first appearance, as the lake's table builder would encode them): once per layout, not
    once per file.
    """
    if any(shape_problem([s, "", "name", ""], False) for s in set(sections)) or not all(names):
        return None
    keys = list(zip(sections, rgs, names, strict=True))
    if len(set(keys)) != len(keys):
        return None
    hists, series, xs, ends, units = [], [], [], [], []
    for section, rg, name in keys:
        histogram, suffix, x, x_end, unit = bin_of(section, name)
        hists.append(histogram)
        series.append(f"{rg} {suffix}" if suffix else rg)
        xs.append(x)
        ends.append(x_end)
        units.append(unit)

    def coded(values: list[str | None]) -> pa.Array:
        return pa.array(values, pa.string()).dictionary_encode()

    return (coded(hists), coded(series), pa.array(xs, pa.float64()), pa.array(ends, pa.float64()),
            coded(units), coded(sections), coded(rgs))


_LAYOUTS = columnar.LayoutMemo(_derive_bins)


def _fast(text: bytes, phenotype: str | None) -> Block | None:
    """The whole file (:func:`columnar.plain_text`) at once with Arrow compute; None at the first
    irregularity."""
    first = text[:text.find(b"\n")].decode("ascii")
    if shape_problem(first.split(","), True) is not None:
        return None
    cols = columnar.csv_fields(text, 4)
    if cols is None:
        return None
    sections, rgs, names, texts = cols
    numbers = columnar.as_number_or_missing(texts, columnar.FLOAT, pa.float64(), MISSING)
    derived = _LAYOUTS(sections, rgs, names) if numbers is not None else None
    if derived is None:
        return None
    values, value_texts = numbers
    hists, series, xs, ends, units, sections, rgs = derived
    return Block(len(names), {
        "line": columnar.line_numbers(1, len(names)), "histogram": hists, "section": sections,
        "read_group": rgs, "series": series, "label": names, "x": xs, "x_end": ends,
        "value": values, "value_text": Same(None) if value_texts is None else value_texts,
        "unit": units, "phenotype": Same(phenotype),
    })
