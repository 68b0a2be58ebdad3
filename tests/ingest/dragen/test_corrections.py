"""A corrected DRAGEN file replaces what it changed (issue 17, finding 4): the newest version of a
key wins in the views, the replaced one stays in ``raw_`` for audit, and "already loaded" is said
only when the content is identical."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from analytics.engine import connect
from lake.settings import Settings
from seqledger.cli import main

ARGS = ["--sample-id", "T1", "--run-id", "run-T1", "--run-at", "2024-05-17T12:00:00Z"]
FILE = "TEST.mapping_metrics.csv"
LINE = b"MAPPING/ALIGNING SUMMARY,,Total input reads,"


def _value(settings: Settings, view: str) -> list[float]:
    con = connect(settings)
    return [r[0] for r in con.execute(
        f"SELECT value FROM {view} WHERE source_file = ? AND metric_name = 'Total input reads' "
        "AND section = 'MAPPING/ALIGNING SUMMARY' ORDER BY recorded_at", [FILE]).fetchall()]


def _set_total(path: Path, value: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    i = next(i for i, line in enumerate(lines) if line.startswith(LINE))
    lines[i] = LINE + value
    path.write_bytes(b"\n".join(lines))


def test_a_corrected_file_replaces_its_values(dragen_ref: Path, lake_settings: Settings,
                                              tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(dragen_ref / "TEST", folder)
    _set_total(folder / FILE, b"1000")
    runner, env = CliRunner(), {"SEQLEDGER_LAKE": lake_settings.lake_uri}
    first = runner.invoke(main, ["ingest", "dragen", str(folder), *ARGS], env=env)
    assert first.exit_code == 0, first.output
    assert _value(lake_settings, "qc_metrics") == [1000.0]

    _set_total(folder / FILE, b"2000")  # the corrected file
    second = runner.invoke(main, ["ingest", "dragen", str(folder), *ARGS], env=env)
    assert second.exit_code == 0, second.output
    assert "already loaded" not in second.output
    assert _value(lake_settings, "qc_metrics") == [2000.0]  # the newest version wins
    assert _value(lake_settings, "raw_qc_metrics") == [1000.0, 2000.0]  # the old one is kept

    third = runner.invoke(main, ["ingest", "dragen", str(folder), *ARGS], env=env)
    assert "already loaded" in third.output  # identical content: nothing new
    assert _value(lake_settings, "raw_qc_metrics") == [1000.0, 2000.0]
