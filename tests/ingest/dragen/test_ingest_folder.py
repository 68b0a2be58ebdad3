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


def test_run_at_defaults_to_the_newest_metric_file(lake_settings, tmp_path, dragen_ref) -> None:
    import os

    for name, data in read_folder(dragen_ref / "TEST").items():
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, (1_700_000_000, 1_700_000_000))
    os.utime(tmp_path / "TEST.time_metrics.csv", (1_710_000_000, 1_710_000_000))
    (tmp_path / "TEST.bam").write_bytes(b"BAM\x01")  # not read: a BAM's mtime does not count
    os.utime(tmp_path / "TEST.bam", (1_720_000_000, 1_720_000_000))
    summary = ingest_folder(LakeStore(lake_settings), f"file://{tmp_path}", sample_id="S",
                            run_id="R")
    assert summary.run_at.timestamp() == 1_710_000_000
    assert next(f for f in summary.files if f.name == "TEST.bam").skipped


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
