"""Coverage and fragment-length histograms: one record per bin, with the bin's x range as numbers.

- ``*_fine_hist[_tumor|_normal].csv``: header ``Depth,Overall``, then ``depth,count`` for depths
  0..999 and a last ``1000+`` bin. Every column after the first is a series.
- ``*_hist[_tumor|_normal].csv`` (binned): ``PCT of bases in wgs with coverage [100x:inf), 0.00``.
- ``*.fragment_length_hist.csv``: a ``#Sample: NAME`` line, a ``FragmentLength,Count`` header and
  ``length,count`` lines, repeated per sample (tumour/normal runs hold two samples).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ingest.dragen import columnar
from ingest.dragen.records import Block, FileParse, Same
from ingest.dragen.text import Problem, no_rows_error, split_lines
from ingest.dragen.values import MISSING, number
from lake.errors import ParseError

INF = float("inf")


def _integer_bin(label: str) -> tuple[float, float] | None:
    """``12`` -> (12, 13); ``1000+`` -> (1000, inf)."""
    text = label[:-1] if label.endswith("+") else label
    if not text.isdigit() or not text.isascii() or len(text) > 300:  # past float's range
        return None
    x = float(int(text))
    return (x, INF) if label.endswith("+") else (x, x + 1)


def _finish(out: FileParse, lines_problems: int, shape: str) -> FileParse:
    if out.bins is None or not out.bins.n:
        raise no_rows_error(out.source, out.problems, lines_problems, shape)
    return out


def _bins(histogram: str, phenotype: str | None, unit: str, nos: list[int],
          series: list[str] | Same, labels: list[str], xs: list[float], ends: list[float],
          values: list[float | None], texts: list[str | None] | Same) -> Block:
    return Block(len(nos), {
        "line": nos, "histogram": Same(histogram), "section": Same(""), "read_group": Same(""),
        "series": series, "label": labels, "x": xs, "x_end": ends, "value": values,
        "value_text": texts, "unit": Same(unit), "phenotype": Same(phenotype),
    })


def parse_fine_hist(source: str, data: bytes, *, family: str, file_type: str,
                    phenotype: str | None = None) -> FileParse:
    """Bins of a fine coverage histogram (``histogram = coverage_depth``).

    Raises:
        ParseError: the file is unreadable or has no ``depth,count`` line.
    """
    text = columnar.plain_text(source, data)
    fast = _fine_hist_fast(text, phenotype) if text is not None else None
    if fast is not None:
        return FileParse(source, family, file_type, phenotype, bins=fast)
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    problems = out.problems
    header: list[str] | None = None
    seen: set[str] = set()
    nos, series, labels, xs, ends, values, texts = [], [], [], [], [], [], []
    for no, line in lines.numbered():
        parts = line.split(",")
        if header is None:
            header = [p.strip() for p in parts[1:]]
            if len(parts) >= 2 and not parts[0].strip().isdigit():
                continue  # the header: Depth,Overall[,…]
            problems.append(Problem(ParseError(source, no, "missing the Depth,<series> header; "
                                                           "the series is named Overall"), line))
            header = ["Overall"] * (len(parts) - 1)
        label = parts[0]
        rng = _integer_bin(label)
        if rng is None or len(parts) != len(header) + 1:
            reason = f"expected <depth>,{','.join(header)} with a whole-number depth"
            problems.append(Problem(ParseError(source, no, reason), line))
            continue
        if label in seen:
            problems.append(Problem(ParseError(source, no, f"depth {label} repeats"), line))
            continue
        seen.add(label)
        for name, text in zip(header, parts[1:], strict=True):
            value = number(text)
            if value is None and text not in MISSING:
                problems.append(Problem(ParseError(source, no, f"{name} count {text!r} is not a "
                                                               "number"), line))
                continue
            nos.append(no)
            series.append(name)
            labels.append(label)
            xs.append(rng[0])
            ends.append(rng[1])
            values.append(value)
            texts.append(None if value is not None else text)
    out.bins = _bins("coverage_depth", phenotype, "positions", nos, series, labels, xs, ends,
                     values, texts)
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
    nos, series, labels, xs, ends, values, texts = [], [], [], [], [], [], []
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
        nos.append(no)
        series.append(region.group(1) if region else "")
        labels.append(label)
        xs.append(float(m.group(1)))
        ends.append(float(m.group(2)) if m.group(2) else INF)
        values.append(value)
        texts.append(None if value is not None else text)
    out.bins = _bins("coverage_depth_binned", phenotype, "pct", nos, series, labels, xs, ends,
                     values, texts)
    return _finish(out, len(lines.problems), "'<label [Ax:Bx)>, <percent>'")


def parse_fragment_length_hist(source: str, data: bytes, *, family: str, file_type: str,
                               phenotype: str | None = None) -> FileParse:
    """Bins per sample of a fragment-length histogram (``histogram = fragment_length``).

    Raises:
        ParseError: the file is unreadable or has no ``length,count`` line.
    """
    text = columnar.plain_text(source, data)
    fast = _fragment_fast(text, phenotype) if text is not None else None
    if fast is not None:
        return FileParse(source, family, file_type, phenotype, bins=fast)
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    problems = out.problems
    sample = ""
    seen: dict[str, set[str]] = {"": set()}
    in_sample = seen[""]
    nos, series, labels, xs, values = [], [], [], [], []
    for no, line in enumerate(lines.text, 1):
        if not line:
            continue
        label, comma, text = line.partition(",")
        try:
            x = int(label)
            value = float(int(text))
            float(x)  # a length past float's range is not a length
        except (ValueError, OverflowError):
            if line[0] == "#":
                if line.startswith("#Sample:"):
                    sample = line[len("#Sample:"):].strip()
                    in_sample = seen.setdefault(sample, set())
                continue
            if label == "FragmentLength":
                continue
            problems.append(Problem(ParseError(
                source, no, "expected <fragment length>,<count> (whole numbers)"), line))
            continue
        if label in in_sample or x < 0 or "_" in line or not label.isdigit():
            reason = (f"length {label} of sample {sample!r} repeats" if label in in_sample
                      else "expected <fragment length>,<count> (whole numbers)")
            problems.append(Problem(ParseError(source, no, reason), line))
            continue
        in_sample.add(label)
        nos.append(no)
        series.append(sample)
        labels.append(label)
        xs.append(float(x))
        values.append(value)
    out.bins = _bins("fragment_length", phenotype, "fragments", nos, series, labels, xs,
                     [x + 1.0 for x in xs], values, Same(None))
    return _finish(out, len(lines.problems), "#Sample: / FragmentLength,Count")


# --- fast paths (see columnar.py): whole-file Arrow compute, None at the first irregularity ------


def _fine_hist_fast(text: bytes, phenotype: str | None) -> Block | None:
    first, _, body = text.partition(b"\n")
    header = first.decode("ascii").split(",")
    if len(header) != 2 or header[0].strip().isdigit():
        return None
    cols = columnar.csv_fields(body, 2)
    if cols is None:
        return None
    labels, counts = cols
    if not pc.all(pc.match_substring_regex(labels, r"^[0-9]+\+?$")).as_py() \
            or not columnar.unique(labels):
        return None
    values = columnar.as_number(counts, columnar.FLOAT, pa.float64())
    if values is None:
        return None
    open_end = pc.ends_with(labels, "+")
    xs = pc.cast(pc.replace_substring(labels, "+", ""), pa.float64())
    ends = pc.if_else(open_end, INF, pc.add(xs, 1.0))
    return _bins("coverage_depth", phenotype, "positions", columnar.line_numbers(2, len(labels)),
                 Same(header[1].strip()), labels, xs, ends, values, Same(None))


_SAMPLE = b"#Sample:"
_LENGTH_HEADER = b"FragmentLength,Count\n"


def _fragment_fast(text: bytes, phenotype: str | None) -> Block | None:
    """Each sample's block (``#Sample:`` line, header, ``length,count`` lines) read by Arrow's
    CSV reader; None when the file has any other shape."""
    # Another comment line needs no search of its own (two counts over the file cost as much as
    # reading it): inside a block it is a line whose length is not digits, so the block is refused.
    if not text.startswith(_SAMPLE):
        return None
    samples: list[str] = []
    labels, counts, blocks, nos, xs = [], [], [], [], []
    line = 1
    view = memoryview(text)  # each block's lines as a slice, newline kept: no copy of a block
    start = len(_SAMPLE)
    while start:
        end = text.find(b"\n" + _SAMPLE, start) + 1  # 0: the last block
        name_end = text.find(b"\n", start)
        name, body = text[start:name_end], view[name_end + 1:end or len(text)]
        start = end and end + len(_SAMPLE)
        if body[:len(_LENGTH_HEADER)] != _LENGTH_HEADER:
            return None
        cols = columnar.csv_fields(body[len(_LENGTH_HEADER):], 2)
        if cols is None:
            return None
        n = len(cols[0])
        x = columnar.as_number(cols[0], columnar.INT, pa.int64())
        if x is None or not columnar.increasing(x):
            return None  # (the line parser reports a repeated or unordered length exactly)
        xs.append(x)
        labels.append(cols[0])
        counts.append(cols[1])
        blocks.append(columnar.filled(len(samples), n))
        nos.append(columnar.line_numbers(line + 2, n))
        samples.append(name.decode("ascii").strip())
        line += 2 + n
    if len(set(samples)) != len(samples):
        return None
    values = columnar.as_number(_joined(counts), columnar.INT, pa.int64())
    if values is None:
        return None
    # one sample name per block: a dictionary column, not the name repeated per row
    series = pa.DictionaryArray.from_arrays(_joined(blocks), pa.array(samples, pa.string()))
    labels_, xs = _joined(labels), pc.cast(_joined(xs), pa.float64())
    return _bins("fragment_length", phenotype, "fragments", _joined(nos), series,
                 labels_, xs, pc.add(xs, 1.0), pc.cast(values, pa.float64()), Same(None))


def _joined(arrays: list[pa.Array]) -> pa.Array:
    """The blocks' arrays as one (most files hold one sample: no copy)."""
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)
