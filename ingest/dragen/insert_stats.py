"""``*.insert-stats.tab``: insert-size statistics per read group, tab-separated, with a header.

Every line (header included) ends with a tab. Rows are keyed by read group (``RG``) and ``ID``;
the ``ID 0`` row holds the estimate (Q25/Q50/Q75, mean, SD), the others are DRAGEN's
bookkeeping. Each cell becomes a metric: section ``INSERT STATS ID <id>``, read group ``RG``,
metric name the column header as written.
"""

from __future__ import annotations

from ingest.dragen.records import FileParse, Metric
from ingest.dragen.text import Problem, no_rows_error, split_lines
from ingest.dragen.values import MISSING, number
from lake.errors import ParseError


def _cells(line: str) -> list[str]:
    return (line[:-1] if line.endswith("\t") else line).split("\t")


def parse_insert_stats(source: str, data: bytes, *, family: str, file_type: str,
                       phenotype: str | None = None) -> FileParse:
    """Metrics of an insert-stats table.

    Raises:
        ParseError: the file is unreadable or its first line is not the ``RG<TAB>ID<TAB>…`` header.
    """
    lines = split_lines(source, data)
    out = FileParse(source, family, file_type, phenotype, problems=list(lines.problems))
    header: list[str] | None = None
    seen: dict[tuple[str, str], int] = {}
    for no, line in lines.numbered():
        cells = _cells(line)
        if header is None:
            if cells[:2] != ["RG", "ID"]:
                raise ParseError(source, no, "expected the header RG<TAB>ID<TAB>… on the first "
                                             f"line; found {line[:80]!r}")
            header = cells
            continue
        if len(cells) != len(header):
            reason = f"expected {len(header)} tab-separated fields, found {len(cells)}"
            out.problems.append(Problem(ParseError(source, no, reason), line))
            continue
        rg, row_id = cells[0], cells[1]
        if (rg, row_id) in seen:
            out.problems.append(Problem(ParseError(
                source, no, f"RG {rg} ID {row_id} repeats line {seen[rg, row_id]}"), line))
            continue
        seen[rg, row_id] = no
        section = f"INSERT STATS ID {row_id}"
        for name, text in zip(header[2:], cells[2:], strict=True):
            value = number(text)
            unit = None if value is not None or text in MISSING else "text"
            out.metrics.append(Metric(no, section, rg, name, value, None, text, unit))
    if header is None:
        raise no_rows_error(source, out.problems, len(lines.problems), "RG<TAB>ID<TAB>… header")
    return out
