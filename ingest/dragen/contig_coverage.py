"""``*_contig_mean_cov[_tumor|_normal].csv``: ``contig,aligned_bases,mean_coverage`` per contig.

No header; alt, decoy, unplaced and HLA contigs included (``HLA-DRB1*15:03:01:02``); a last
``Autosomal regions ,<bases>,<mean>`` row whose name ends with a space; scientific notation in
the means (``9.7579e-05``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.dragen.records import Contig, FileParse
from ingest.dragen.text import Problem, split_lines
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
    """One record per contig.

    Raises:
        ParseError: the file is unreadable or no line is ``contig,bases,mean``.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    seen: dict[str, int] = {}
    contigs, problems = out.contigs, out.problems
    for no, line in lines.numbered():
        parts = line.rsplit(",", 2)
        reason = None
        if len(parts) != 3 or not parts[0]:
            reason = f"expected contig,aligned_bases,mean_coverage; found {len(parts)} field(s)"
        else:
            name, bases_text, mean_text = parts
            try:
                bases = int(bases_text)
            except ValueError:
                bases = None
            mean = number(mean_text)
            if bases is None or mean is None or "_" in bases_text:
                reason = (f"{name}: aligned bases {bases_text!r} or mean {mean_text!r} is not a "
                          "number")
            elif name in seen:
                reason = f"contig {name!r} repeats line {seen[name]}"
        if reason is not None:
            problems.append(Problem(ParseError(source, no, reason), line))
            continue
        seen[name] = no
        contigs.append(Contig(no, name, contig_kind(name), bases, mean))
    if not contigs:
        first = problems[len(lines.problems)] if len(problems) > len(lines.problems) else None
        raise ParseError(source, first.error.line if first else None,
                         "no line has the contig,aligned_bases,mean_coverage shape"
                         + (f"; first: {first.error.reason}" if first else ""))
    return out
