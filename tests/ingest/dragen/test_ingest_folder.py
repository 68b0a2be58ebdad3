"""``ingest_folder`` reads local folders and s3:// prefixes, and never stops a batch of runs."""

from __future__ import annotations

import pytest

from ingest.dragen.service import ingest_folder
from lake.store import LakeStore
from tests.ingest.dragen.conftest import RUN_AT, read_folder


def test_a_missing_folder_is_quarantined_not_raised(lake_settings, tmp_path) -> None:
    store = LakeStore(lake_settings)
    summary = ingest_folder(store, tmp_path / "nowhere", sample_id="S", run_id="R", run_at=RUN_AT)
    assert (summary.rows, summary.quarantined) == ({}, 1)
    (q,) = store.read("quarantine").to_pylist()
    assert q["source"].endswith("nowhere") and q["reason"] == "run folder not found"


def test_a_copied_folder_is_not_dated_by_its_modification_times(lake_settings, tmp_path,
                                                               dragen_ref) -> None:
    import os

    for name, data in read_folder(dragen_ref / "TEST").items():
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, (1_710_000_000, 1_710_000_000))
    (tmp_path / "TEST.bam").write_bytes(b"BAM\x01")
    store = LakeStore(lake_settings)
    undated = ingest_folder(store, f"file://{tmp_path}", sample_id="S", run_id="R")
    assert undated.rows == {} and undated.quarantined == 1
    assert undated.error.startswith("no run date") and "--run-at" in undated.error
    assert store.read("qc_metrics").num_rows == 0
    dated = ingest_folder(store, f"file://{tmp_path}", sample_id="S", run_id="R", run_at=RUN_AT)
    assert dated.run_at == RUN_AT and dated.rows["qc_metrics"] > 0
    assert next(f for f in dated.files if f.name == "TEST.bam").skipped


@pytest.mark.integration
def test_ingest_from_an_s3_prefix(s3_settings, dragen_ref) -> None:
    store = LakeStore(s3_settings)
    prefix = s3_settings.lake_uri.removeprefix("s3://") + "-runs/run-1/dragen"
    for name, data in read_folder(dragen_ref / "T_SRR7890936_50pc").items():
        with store.fs.open_output_stream(f"{prefix}/{name}") as out:
            out.write(data)
    summary = ingest_folder(store, f"s3://{prefix}", sample_id="T1", run_id="run-1",
                            run_at=RUN_AT)
    assert summary.dragen_version == "05.021.335.3.5.2"
    assert summary.rows == {"qc_metrics": 887, "qc_histograms": 80453, "qc_contig_coverage": 912}
    assert store.read("qc_metrics").num_rows == 887
    again = ingest_folder(store, f"s3://{prefix}/", sample_id="T1", run_id="run-1", run_at=RUN_AT)
    assert sum(again.rows_written.values()) == 0
