"""Seeded fuzzing, quick: every mutated event, DRAGEN file and billing export ends loaded or
quarantined with a reason — never a traceback, never neither (issue 17, finding 1).

``benchmarks/bench_faults.py`` runs the same with 10,000 and more inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lake.settings import Settings
from tests.fault.fuzz import fuzz_billing, fuzz_dragen, fuzz_events

pytestmark = pytest.mark.fault


def _settings(tmp_path: Path) -> Settings:
    return Settings(lake_uri=str(tmp_path / "lake"), output_prefix=str(tmp_path / "out"),
                    projects_file=str(tmp_path / "none.toml"))


def _clean(report) -> None:
    assert report.tracebacks == [] and report.unaccounted == []
    assert report.loaded + report.quarantined == report.inputs
    assert report.loaded and report.quarantined  # the mutator makes both kinds


def test_mutated_events(reference: Path, tmp_path: Path):
    _clean(fuzz_events(_settings(tmp_path), reference, range(600)))


def test_mutated_dragen_files(reference: Path, tmp_path: Path):
    _clean(fuzz_dragen(_settings(tmp_path), reference, range(150)))


def test_mutated_billing_exports(reference: Path, tmp_path: Path):
    _clean(fuzz_billing(_settings(tmp_path), reference, range(40), tmp_path / "cur"))
