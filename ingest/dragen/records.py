"""What the DRAGEN parsers return: plain records per line, before they become lake rows.

Parsers know one file; the service adds what a file cannot know alone (sample, run, DRAGEN
version from the replay file, catalogue ids, phenotype from the replay's sample names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ingest.dragen.text import Problem


class Metric(NamedTuple):
    """One metric line: the raw key as written, the numbers, the raw value text."""

    line: int
    section: str
    read_group: str
    metric_name: str
    value: float | None
    value_pct: float | None
    value_text: str | None
    unit: str | None = None  # what the parser knows (s, text); the catalogue's unit wins
    phenotype: str | None = None  # from a TUMOR/NORMAL prefix of the section or the metric


class Same(NamedTuple):
    """A column with one value for every row of a block."""

    value: object


class Block:
    """Rows of one table from one file, column by column: many rows, no object per row.

    Histograms and contig tables have thousands of rows per file; building a tuple per row and
    transposing it later costs more than parsing the line.
    """

    __slots__ = ("columns", "n")

    def __init__(self, n: int, columns: dict[str, Any]) -> None:  # list | pa.Array | Same
        for name, column in columns.items():
            if not isinstance(column, Same) and len(column) != n:
                raise ValueError(f"column {name} has {len(column)} values, expected {n}")
        self.n = n
        self.columns = columns

    def records(self) -> list[dict[str, object]]:
        """The rows as dicts (for tests and debugging)."""
        cols = {k: [v.value] * self.n if isinstance(v, Same) else
                v.to_pylist() if hasattr(v, "to_pylist") else v for k, v in self.columns.items()}
        return [dict(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)]


@dataclass(slots=True)
class FileParse:
    """Everything read from one file. ``problems`` are the lines that could not be read."""

    source: str
    family: str
    file_type: str
    phenotype: str | None = None
    metrics: list[Metric] = field(default_factory=list)
    bins: Block | None = None  # qc_histograms columns
    contigs: Block | None = None  # qc_contig_coverage columns
    problems: list[Problem] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)  # e.g. dragen_version from a replay

    @property
    def rows(self) -> int:
        return len(self.metrics) + sum(b.n for b in (self.bins, self.contigs) if b is not None)
