"""``seqledger ingest dragen`` on a temporary lake; the ``sample_qc`` view over what it loaded."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from analytics.engine import connect
from ingest.dragen.service import ingest_folder
from lake.settings import Settings
from lake.store import LakeStore
from seqledger.cli import main
from tests.ingest.dragen.conftest import RUN_AT

TABLES = ("qc_metrics", "qc_histograms", "qc_contig_coverage", "quarantine")


def _counts(settings: Settings) -> dict[str, tuple[int, int]]:
    store = LakeStore(settings)
    return {t: (store.read(t, dedupe=False).num_rows, len(store.files(t))) for t in TABLES}


def test_ingest_dragen_twice_adds_nothing(dragen_ref: Path, lake_settings: Settings) -> None:
    runner = CliRunner()
    args = ["ingest", "dragen", str(dragen_ref / "T_SRR7890936_50pc"), "--sample-id", "T1",
            "--run-id", "run-T1", "--run-at", "2024-05-17T12:00:00Z"]
    env = {"SEQLEDGER_LAKE": lake_settings.lake_uri}
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert "DRAGEN 05.021.335.3.5.2" in first.output and "887 qc_metrics" in first.output
    assert "bam_list.csv" in first.output  # skipped files are listed with the reason
    after_first = _counts(lake_settings)
    assert after_first["qc_metrics"] == (887, 1)
    assert after_first["qc_histograms"] == (80453, 1)
    assert after_first["qc_contig_coverage"] == (912, 1)
    second = runner.invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    assert _counts(lake_settings) == after_first


def test_ingest_dragen_rejects_a_bad_time(dragen_ref: Path, lake_settings: Settings) -> None:
    result = CliRunner().invoke(main, ["ingest", "dragen", str(dragen_ref / "TEST"), "--sample-id",
                                       "S", "--run-id", "R", "--run-at", "yesterday"],
                                env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert result.exit_code == 2 and "ISO-8601" in result.output


@pytest.fixture(scope="module")
def qc(dragen_ref: Path, tmp_path_factory):
    settings = Settings(lake_uri=str(tmp_path_factory.mktemp("lake")))
    store = LakeStore(settings)
    for folder in ("TEST", "NA12878_NFE_B_A04_NS2000", "T_SRR7890936_50pc", "Sample_1"):
        ingest_folder(store, dragen_ref / folder, sample_id=folder, run_id=f"run-{folder}",
                      run_at=RUN_AT)
    con = connect(settings)
    cursor = con.execute("SELECT * FROM sample_qc ORDER BY run_id")
    columns = [d[0] for d in cursor.description]
    rows = {r[1]: dict(zip(columns, r, strict=True)) for r in cursor.fetchall()}
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE sample_qc)")
                 .fetchall())
    return columns, types, rows


def test_sample_qc_has_the_contract_columns(qc) -> None:
    columns, types, _ = qc
    assert columns == ["sample_id", "run_id", "run_at", "dragen_version", "mean_coverage_x",
                       "genome_ge_20x_pct", "genome_ge_15x_pct", "q30_bases", "q30_bases_pct",
                       "mapped_reads_pct", "duplicate_reads_pct", "contamination_pct",
                       "insert_length_median_bp", "ti_tv_ratio", "het_hom_ratio", "snps",
                       "indels", "ploidy", "total_runtime_s"]
    assert types["run_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ploidy"] == types["dragen_version"] == types["sample_id"] == "VARCHAR"
    assert {types[c] for c in columns[4:] if c != "ploidy"} == {"DOUBLE"}


def test_sample_qc_germline_values(qc) -> None:
    row = qc[2]["run-TEST"]
    assert row["sample_id"] == "TEST" and row["dragen_version"] is None
    assert (row["mean_coverage_x"], row["genome_ge_20x_pct"], row["genome_ge_15x_pct"]) == \
        (0.52, 1.17, 1.19)  # "Average autosomal coverage over genome" wins over 0.50
    assert (row["q30_bases"], row["q30_bases_pct"], row["mapped_reads_pct"]) == \
        (1340494353, 88.11, 99.62)
    assert (row["duplicate_reads_pct"], row["insert_length_median_bp"]) == (0.0, 490.0)
    assert row["total_runtime_s"] == 92.032
    assert row["ploidy"] is None  # the file's value is empty
    assert row["contamination_pct"] is None and row["snps"] is None


def test_sample_qc_tumour_normal_uses_the_tumour(qc) -> None:
    row = qc[2]["run-T_SRR7890936_50pc"]
    assert row["dragen_version"] == "05.021.335.3.5.2"
    assert (row["mean_coverage_x"], row["genome_ge_20x_pct"]) == (85.0, 95.44)  # normal: 46.x
    assert (row["q30_bases"], row["mapped_reads_pct"], row["duplicate_reads_pct"]) == \
        (297564555927, 96.86, 19.71)
    assert (row["ti_tv_ratio"], row["het_hom_ratio"], row["snps"]) == (1.45, 0.0, 104900)
    assert row["indels"] == 8060 + 10259  # insertions and deletions (het); no "Indels" row
    assert (row["ploidy"], row["total_runtime_s"]) == ("X0", 12748.426)


def test_sample_qc_variant_calls_and_missing_values(qc) -> None:
    vc = qc[2]["run-Sample_1"]
    assert (vc["ti_tv_ratio"], vc["het_hom_ratio"], vc["snps"]) == (2.05, 0.83, 2685496)
    assert vc["indels"] == 123505 + 91343 + 125053 + 117371 + 7175
    assert vc["mean_coverage_x"] is None and vc["q30_bases"] is None
    panel = qc[2]["run-NA12878_NFE_B_A04_NS2000"]
    assert panel["contamination_pct"] is None  # NA in the file
    assert (panel["q30_bases"], panel["insert_length_median_bp"]) == (13675809151, 176.0)
    assert panel["mean_coverage_x"] is None  # a target-bed run has no genome coverage


def test_contamination_fraction_becomes_a_percent(lake_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "S9"
    folder.mkdir()
    (folder / "S9.mapping_metrics.csv").write_text(
        "MAPPING/ALIGNING SUMMARY,,Estimated sample contamination,0.0123\n"
        "MAPPING/ALIGNING SUMMARY,,Mapped reads,100,99.50\n")
    ingest_folder(LakeStore(lake_settings), folder, sample_id="S9", run_id="r9", run_at=RUN_AT)
    (row,) = connect(lake_settings).execute(
        "SELECT contamination_pct, mapped_reads_pct FROM sample_qc").fetchall()
    assert math.isclose(row[0], 1.23) and row[1] == 99.5
