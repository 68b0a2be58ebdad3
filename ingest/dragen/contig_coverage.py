"""``*_contig_mean_cov[_tumor|_normal].csv``: ``contig,aligned_bases,mean_coverage`` per contig.

No header; alt, decoy, unplaced and HLA contigs included (``HLA-DRB1*15:03:01:02``); a last
``Autosomal regions ,<bases>,<mean>`` row whose name ends with a space; scientific notation in
the means (``9.7579e-05``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa

from ingest.dragen import columnar
from ingest.dragen.records import Block, FileParse, Same
from ingest.dragen.text import Problem, no_rows_error, split_lines
from ingest.dragen.values import number
from lake.errors import ParseError

_PRIMARY = re.compile(r"^(?:chr)?(?:[1-9]|1[0-9]|2[0-2]|X|Y)$")


@lru_cache(maxsize=16384)
def contig_kind(name: str) -> str:
    """primary | mito | alt | random | unplaced | decoy | hla | summary | other."""
    n = name.strip()
    if n.startswith("Autosomal regions"):
        return "summary"
    if _PRIMARY.match(n):
        return "primary"
    if n in ("chrM", "MT", "chrMT", "M"):
        return "mito"
    if n.startswith("HLA-"):
        return "hla"
    if n.endswith("_alt"):
        return "alt"
    if n.endswith("_random"):
        return "random"
    if n.startswith(("chrUn", "Un_", "GL", "KI")):
        return "unplaced"
    if n.endswith("_decoy") or n in ("chrEBV", "hs37d5"):
        return "decoy"
    return "other"


def parse_contig_mean_cov(source: str, data: bytes, *, family: str, file_type: str,
                          phenotype: str | None = None) -> FileParse:
    """One row per contig (``out.contigs``).

    Raises:
        ParseError: the file is unreadable or no line is ``contig,bases,mean``.
    """
    text = columnar.plain_text(source, data)
    fast = _fast(text, phenotype) if text is not None else None
    if fast is not None:
        return FileParse(source, family, file_type, phenotype, contigs=fast)
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    problems = out.problems
    seen: dict[str, int] = {}
    nos: list[int] = []
    names: list[str] = []
    bases: list[int] = []
    means: list[float] = []
    for no, line in enumerate(lines.text, 1):
        if not line:
            continue
        parts = line.rsplit(",", 2)
        try:
            name, bases_text, mean_text = parts
            count = int(bases_text)
            mean = float(mean_text)
        except ValueError:
            problems.append(Problem(ParseError(source, no, _why(parts)), line))
            continue
        if not 0 <= count < 2**63:  # the column is int64; a count is never negative
            problems.append(Problem(ParseError(
                source, no, f"{name}: aligned bases {bases_text[:40]!r} is out of range"),
                line))
            continue
        odd = not name or mean - mean != 0.0 or "_" in bases_text or "_" in mean_text
        if odd and (number(mean_text) is None or not name or "_" in bases_text):
            problems.append(Problem(ParseError(source, no, _why(parts)), line))
            continue
        if name in seen:
            problems.append(Problem(ParseError(
                source, no, f"contig {name!r} repeats line {seen[name]}"), line))
            continue
        seen[name] = no
        nos.append(no)
        names.append(name)
        bases.append(count)
        means.append(mean)
    if not names:
        raise no_rows_error(source, problems, len(lines.problems),
                            "contig,aligned_bases,mean_coverage")
    out.contigs = Block(len(names), {
        "line": nos, "contig": names, "contig_kind": [contig_kind(n) for n in names],
        "aligned_bases": bases, "mean_coverage_x": means, "phenotype": Same(phenotype),
    })
    return out


def _why(parts: list[str]) -> str:
    if len(parts) != 3 or not parts[0]:
        return f"expected contig,aligned_bases,mean_coverage; found {len(parts)} field(s)"
    return f"{parts[0]}: aligned bases {parts[1]!r} or mean {parts[2]!r} is not a number"


def _fast(text: bytes, phenotype: str | None) -> Block | None:
    """The whole file (:func:`columnar.plain_text`) at once with Arrow compute; None at the first
    irregularity."""
    cols = columnar.csv_fields(text, 3)
    if cols is None:
        return None
    names, bases_text, mean_text = cols
    bases = columnar.as_number(bases_text, columnar.INT, pa.int64())
    means = columnar.as_number(mean_text, columnar.FLOAT, pa.float64())
    kinds = _KINDS(names) if bases is not None and means is not None else None
    if kinds is None:
        return None
    return Block(len(names), {
        "line": columnar.line_numbers(1, len(names)), "contig": names, "contig_kind": kinds,
        "aligned_bases": bases, "mean_coverage_x": means, "phenotype": Same(phenotype),
    })


def _derive_kinds(names: list[str]) -> pa.Array | None:
    """Contig kinds for a file's contig names; None if a name repeats or is empty."""
    if len(set(names)) != len(names) or not all(names):
        return None
    return pa.array([contig_kind(n) for n in names], pa.string())


_KINDS = columnar.LayoutMemo(_derive_kinds)
