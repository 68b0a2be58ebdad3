"""Shared helpers: parse a reference folder as one run, once per session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.dragen.service import ParsedRun, parse_run_files

RUN_AT = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
FOLDERS = ("0201424131", "6405-JL-0001_111", "NA12878_NFE_B_A04_NS2000", "Sample_1", "TEST",
           "TEST_GC_METRICS", "T_SRR7890936_50pc", "T_SRR7890936_50pc_nodedup", "_artificial",
           "issue_2328_inf_values", "issue_3009_rna_metrics")


def read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def parse_folder(folder: Path) -> ParsedRun:
    return parse_run_files(read_folder(folder), sample_id=folder.name, run_id=f"run-{folder.name}",
                           run_at=RUN_AT)


@pytest.fixture(scope="session")
def dragen_ref(reference: Path) -> Path:
    return reference / "dragen"


@pytest.fixture(scope="session")
def parsed(dragen_ref: Path):
    """folder name -> ParsedRun of that reference folder (parsed once)."""
    cache: dict[str, ParsedRun] = {}

    def get(name: str) -> ParsedRun:
        if name not in cache:
            cache[name] = parse_folder(dragen_ref / name)
        return cache[name]

    return get


_ROWS: dict[tuple[int, str], dict[str, list[dict]]] = {}


def rows_of(run: ParsedRun, table: str, source_file: str) -> list[dict]:
    """The rows of one table that came from one file (grouped once per run and table)."""
    key = (id(run), table)
    if key not in _ROWS:
        grouped: dict[str, list[dict]] = {}
        for row in run.rows(table):
            grouped.setdefault(row["source_file"], []).append(row)
        _ROWS[key] = grouped
    return _ROWS[key].get(source_file, [])


def metric(run: ParsedRun, source_file: str, section: str, name: str, read_group: str = "") -> dict:
    """The one qc_metrics row with this raw key."""
    hits = [r for r in rows_of(run, "qc_metrics", source_file)
            if (r["section"], r["read_group"], r["metric_name"]) == (section, read_group, name)]
    assert len(hits) == 1, (source_file, section, read_group, name, len(hits))
    return hits[0]
