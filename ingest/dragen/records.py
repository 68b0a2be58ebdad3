"""What the DRAGEN parsers return: plain records per line, before they become lake rows.

Parsers know one file; the service adds what a file cannot know alone (sample, run, DRAGEN
version from the replay file, catalogue ids, phenotype from the replay's sample names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

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


class Bin(NamedTuple):
    """One histogram bin."""

    line: int
    histogram: str
    section: str
    read_group: str
    series: str
    label: str
    x: float | None
    x_end: float | None
    value: float | None
    value_text: str | None
    unit: str | None


class Contig(NamedTuple):
    """Mean coverage of one contig."""

    line: int
    contig: str
    contig_kind: str
    aligned_bases: int | None
    mean_coverage_x: float | None


@dataclass(slots=True)
class FileParse:
    """Everything read from one file. ``problems`` are the lines that could not be read."""

    source: str
    family: str
    file_type: str
    phenotype: str | None = None
    metrics: list[Metric] = field(default_factory=list)
    bins: list[Bin] = field(default_factory=list)
    contigs: list[Contig] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)  # e.g. dragen_version from a replay

    @property
    def rows(self) -> int:
        return len(self.metrics) + len(self.bins) + len(self.contigs)
