"""One bad file or value of a DRAGEN run folder is quarantined with its reason and the rest of the
folder loads (issue 17, findings 1, 6 and 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.dragen import service
from ingest.dragen.service import ingest_folder, parse_run_files
from lake.settings import Settings
from lake.store import LakeStore
from tests.ingest.dragen.conftest import RUN_AT, read_folder

CONTIGS = "TEST.wgs_contig_mean_cov.csv"


def _parse(files: dict[str, bytes]):
    return parse_run_files(files, sample_id="S", run_id="R", run_at=RUN_AT)


def _outcomes(parsed) -> dict:
    return {f.name: f for f in parsed.files}


def test_a_value_too_large_for_its_column_refuses_one_line_not_the_folder(dragen_ref: Path):
    files = read_folder(dragen_ref / "TEST")
    clean = _outcomes(_parse(files))
    files[CONTIGS] = files[CONTIGS].replace(b"chr2,322621,", b"chr2," + b"1" * 400 + b",", 1)
    parsed = _parse(files)
    got = _outcomes(parsed)
    assert got[CONTIGS].rows == clean[CONTIGS].rows - 1 and got[CONTIGS].problems == 1
    assert {n: o.rows for n, o in got.items() if n != CONTIGS} == \
        {n: o.rows for n, o in clean.items() if n != CONTIGS}
    (q,) = parsed.quarantine
    assert q["line"] == 2 and "out of range" in q["reason"]


def test_cr_only_line_endings_load_the_same_rows(dragen_ref: Path):
    files = read_folder(dragen_ref / "TEST")
    old_mac = {n: d.replace(b"\r\n", b"\n").replace(b"\n", b"\r") for n, d in files.items()}
    lf, cr = _parse(files), _parse(old_mac)
    assert cr.row_counts == lf.row_counts and sum(cr.row_counts.values()) > 0
    assert cr.quarantine == lf.quarantine
    assert cr.rows("qc_metrics") == lf.rows("qc_metrics")


def test_a_file_cut_after_its_header_is_quarantined(dragen_ref: Path):
    data = (dragen_ref / "NA12878_NFE_B_A04_NS2000" /
            "NA12878_NFE_B_A04_NS2000.insert-stats.tab").read_bytes()
    parsed = _parse({"x.insert-stats.tab": data[:data.index(b"\n")]})
    (q,) = parsed.quarantine
    assert "no data rows" in q["reason"] and q["source"] == "R/x.insert-stats.tab"


def test_a_metric_file_over_the_size_limit_is_quarantined_not_skipped(
        dragen_ref: Path, lake_settings: Settings, tmp_path: Path, monkeypatch):
    folder = tmp_path / "run"
    shutil.copytree(dragen_ref / "TEST", folder)
    monkeypatch.setattr(service, "MAX_FILE_BYTES", 200_000)  # the FastQC file is larger
    big = folder / "TEST.fastqc_metrics.csv"
    assert big.stat().st_size > 200_000
    summary = ingest_folder(LakeStore(lake_settings), folder, sample_id="S", run_id="R",
                            run_at=RUN_AT)
    quarantine = LakeStore(lake_settings).read("quarantine").to_pylist()
    (q,) = [q for q in quarantine if q["source"].endswith(big.name)]
    assert "over the 200000 limit" in q["reason"]
    assert summary.quarantined == 1 and summary.rows["qc_metrics"] > 0


def test_the_quarantine_key_does_not_depend_on_how_the_folder_is_spelled(
        dragen_ref: Path, lake_settings: Settings, tmp_path: Path, monkeypatch):
    folder = tmp_path / "runs" / "R"
    shutil.copytree(dragen_ref / "TEST", folder)
    (folder / CONTIGS).write_bytes(b"not,a,contig\nfile\n")
    store = LakeStore(lake_settings)
    monkeypatch.chdir(tmp_path)
    for spelling in ("runs/R", str(folder), "./runs/../runs/R/"):
        ingest_folder(store, spelling, sample_id="S", run_id="R", run_at=RUN_AT)
    rows = store.read("quarantine").to_pylist()
    assert {r["source"] for r in rows} == {f"{folder}/{CONTIGS}"}


@pytest.mark.parametrize("damage", [b"\xff", b"\x00", b"\xed\xa0\x80"])
def test_bytes_that_are_not_text_quarantine_one_file(dragen_ref: Path, lake_settings: Settings,
                                                     damage: bytes):
    files = read_folder(dragen_ref / "TEST")
    name = "TEST.mapping_metrics.csv"
    files[name] = files[name][:100] + damage + files[name][100:]
    parsed = _parse(files)
    assert parsed.quarantine and all(q["source"] == f"R/{name}" for q in parsed.quarantine)
    service.write_run(LakeStore(lake_settings), parsed)  # the quarantine write itself succeeds
    assert LakeStore(lake_settings).read("quarantine").num_rows == len(parsed.quarantine)
