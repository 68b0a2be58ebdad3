"""The catalogue of DRAGEN metrics (``catalogue.csv``, kept as data): raw key -> normalized id.

A key is (section without its TUMOR/NORMAL prefix, metric name with bracket padding removed).
Exact rows are looked up first, then the rows with ``{placeholders}`` in the metric name (file
order), then the rows with placeholders in the section. A metric nobody has catalogued gets no
id; its row is still loaded with its raw key (and the catalogue check in the tests fails).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.dragen.sections import split_phenotype
from ingest.dragen.values import normalize_name, slug

UNITS = frozenset({"count", "pct", "x", "bp", "s", "ratio", "text", "bytes"})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Entry:
    """What the catalogue knows about one metric."""

    metric_id: str
    unit: str
    ga4gh_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    template: Entry


class Catalogue:
    """Metric ids by raw key. Lookups are memoized: a month of files repeats the same keys."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self._exact: dict[tuple[str, str], Entry] = {}
        self._patterns: dict[str, list[_Pattern]] = {}
        self._section_patterns: list[tuple[re.Pattern[str], _Pattern]] = []
        self._memo: dict[tuple[str, str], Entry | None] = {}
        for i, row in enumerate(rows, 2):
            entry = Entry(row["metric_id"], row["unit"], row.get("ga4gh_id") or None)
            if entry.unit not in UNITS or not entry.metric_id:
                raise ValueError(f"catalogue row {i}: bad unit {entry.unit!r} or empty metric_id")
            name = normalize_name(row["metric_name"])
            for section in row["section"].split("|"):
                if "{" in section:
                    self._section_patterns.append((_compile(section), _Pattern(_compile(name),
                                                                               entry)))
                elif "{" in name:
                    self._patterns.setdefault(section, []).append(_Pattern(_compile(name), entry))
                elif self._exact.setdefault((section, name), entry) != entry:
                    raise ValueError(f"catalogue row {i}: {section},{name} is already defined")
        self._sections = frozenset({s for s, _ in self._exact} | set(self._patterns))

    @classmethod
    def from_csv(cls, text: str) -> Catalogue:
        body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
        return cls(list(csv.DictReader(io.StringIO(body))))

    def lookup(self, section: str, metric_name: str) -> Entry | None:
        """The entry for a raw (section, metric name), or None when none is catalogued."""
        key = (section, metric_name)
        try:
            return self._memo[key]
        except KeyError:
            pass
        _, base_section = split_phenotype(section)
        _, base_name = split_phenotype(metric_name)  # overall_mean_cov: "NORMAL Average …"
        name = normalize_name(base_name)
        entry = self._exact.get((base_section, name))
        if entry is None:
            entry = _first_match(((None, p) for p in self._patterns.get(base_section, ())),
                                 base_section, name)
        if entry is None and base_section not in self._sections:  # named sections win
            entry = _first_match(self._section_patterns, base_section, name)
        if len(self._memo) < 1_000_000:
            self._memo[key] = entry
        return entry

    def __len__(self) -> int:
        return (len(self._exact) + sum(len(p) for p in self._patterns.values())
                + len(self._section_patterns))


def _first_match(patterns, section: str, name: str) -> Entry | None:
    """The entry of the first (section regex or None, name pattern) that matches, filled in."""
    for section_regex, pattern in patterns:
        parts: dict[str, str] = {}
        if section_regex is not None:
            ms = section_regex.match(section)
            if ms is None:
                continue
            parts.update(ms.groupdict())
        m = pattern.regex.match(name)
        if m is None:
            continue
        parts.update(m.groupdict())
        slugs = {k: slug(v) for k, v in parts.items()}
        t = pattern.template
        return Entry(_PLACEHOLDER.sub(lambda p, s=slugs: s[p.group(1)], t.metric_id), t.unit,
                     t.ga4gh_id)
    return None


def _compile(name: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(name):
        out.append(re.escape(name[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(name[pos:]))
    return re.compile("^" + "".join(out) + "$")


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The catalogue shipped with seqledger (read once per process)."""
    text = resources.files("ingest.dragen").joinpath("catalogue.csv").read_text(encoding="utf-8")
    return Catalogue.from_csv(text)
