"""Object keys to inputs: the namings sequencing centres and archives actually use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.classify import classify
from ingest.records import Classified

P = "runs/2024-06/PRJ-7/NA12878"  # prefix / project / sample

INPUTS = [
    # key, kind, mate, project, sample, lane
    # Illumina BCL Convert / bcl2fastq
    (f"{P}/NA12878_S1_L001_R1_001.fastq.gz", "fastq", "R1", "PRJ-7", "NA12878", "L001"),
    (f"{P}/NA12878_S1_L004_R2_001.fastq.gz", "fastq", "R2", "PRJ-7", "NA12878", "L004"),
    ("NA12878_S12_L002_R2_001.fastq.gz", "fastq", "R2", None, "NA12878", "L002"),
    ("inbox/NA12878_S1_R1_001.fastq.gz", "fastq", "R1", None, "NA12878", None),  # no lane split
    ("HG002-rep_2_S3_L001_R1_001.fastq.gz", "fastq", "R1", None, "HG002-rep_2", "L001"),
    ("A_S2_B_S7_L003_R2_002.fastq.gz", "fastq", "R2", None, "A_S2_B", "L003"),  # _S in the name
    ("NA12878_L001_R1_001.fastq.gz", "fastq", "R1", None, "NA12878", "L001"),
    # short namings
    ("NA12878_R1.fastq.gz", "fastq", "R1", None, "NA12878", None),
    ("NA12878_R2.fq.gz", "fastq", "R2", None, "NA12878", None),
    ("NA12878.R1.fq.gz", "fastq", "R1", None, "NA12878", None),
    ("NA12878.R2.fastq", "fastq", "R2", None, "NA12878", None),
    ("SRR6750041_1.fq.gz", "fastq", "R1", None, "SRR6750041", None),
    ("SRR6750041_2.fastq.gz", "fastq", "R2", None, "SRR6750041", None),
    ("ERR194147.1.fq", "fastq", "R1", None, "ERR194147", None),
    ("NA12878_L002_R2.fastq.gz", "fastq", "R2", None, "NA12878", "L002"),
    ("NA12878_S1_R1.fastq.gz", "fastq", "R1", None, "NA12878", None),
    ("PRJ/S-01/R1.fastq.gz", "fastq", "R1", "PRJ", "S-01", None),  # mate-only name in a folder
    ("x/NA12878_r1.FASTQ.GZ", "fastq", "R1", None, "NA12878", None),  # case-insensitive
    # the folders win over the file name
    ("PRJ/SAMPLE-A/lib7_S1_L001_R1_001.fastq.gz", "fastq", "R1", "PRJ", "SAMPLE-A", "L001"),
    ("a//PRJ/S1//x_R2.fq.gz", "fastq", "R2", "PRJ", "S1", None),  # empty segments ignored
    # ORA
    (f"{P}/NA12878_S1_L001_R1_001.fastq.ora", "ora", "R1", "PRJ-7", "NA12878", "L001"),
    ("NA12878_S1_R2_001.fastq.ora", "ora", "R2", None, "NA12878", None),
    ("NA12878_R1.fq.ora", "ora", "R1", None, "NA12878", None),
    # aligned inputs
    (f"{P}/NA12878.bam", "bam", None, "PRJ-7", "NA12878", None),
    ("NA12878.cram", "cram", None, None, "NA12878", None),
    ("NA12878.hg38.dedup.CRAM", "cram", None, None, "NA12878", None),
    ("PRJ/HG002/whatever.bam", "bam", None, "PRJ", "HG002", None),
]


@pytest.mark.parametrize(("key", "kind", "mate", "project", "sample", "lane"), INPUTS,
                         ids=[i[0] for i in INPUTS])
def test_inputs(key, kind, mate, project, sample, lane):
    assert classify(key) == Classified(kind, mate=mate, project=project, sample_id=sample,
                                       lane=lane)


@pytest.mark.parametrize("key", [
    "SampleSheet.csv",
    "runs/240601_A01234_0042_AHXXXX/SampleSheet.csv",
    "PRJ/batch-3/SampleSheet.csv",
    "x/my_samplesheet_v2.CSV",
    "x/Run42-SAMPLESHEET.csv",
    "sample_sheet.csv",
    "sample-sheet.csv",
])
def test_sample_sheets(key):
    assert classify(key) == Classified("sample_sheet")


UNKNOWN = [
    ("NA12878.bam.bai", "index file, not an input"),
    ("NA12878.bai", "index file, not an input"),
    ("PRJ/S/NA12878.cram.crai", "index file, not an input"),
    ("NA12878.crai", "index file, not an input"),
    ("NA12878_R1.fastq.gz.md5", "not a sequencing input: .md5 checksum"),
    ("NA12878.cram.sha256", "not a sequencing input: .sha256 checksum"),
    ("NA12878.hard-filtered.vcf.gz", "not a sequencing input: VCF (an analysis output)"),
    ("NA12878.sam", "not a sequencing input: SAM text alignments (convert to BAM or CRAM)"),
    ("NA12878.fastq.gz", "FASTQ without a mate marker (R1/R2, _1/_2): single-end input is "
                         "not supported"),
    ("NA12878.fastq.ora", "ORA without a mate marker (R1/R2, _1/_2): single-end input is "
                          "not supported"),
    ("NA12878_S1_L001_I1_001.fastq.gz", "FASTQ index read I1, not an R1/R2 mate"),
    ("NA12878_S1_L001_R3_001.fastq.gz", "FASTQ read R3, not an R1/R2 mate"),
    ("R1.fastq.gz", "FASTQ without a sample name (no sample folder, nothing before the mate)"),
    ("NA12878_R1.fastq.bz2", "FASTQ compressed with .bz2, not supported (gzip or ORA only)"),
    ("runs/", "folder marker, not an object"),
    ("", "empty key"),
    ("PRJ/S/.DS_Store", "hidden file, not an input"),
    ("README", "not a sequencing input: no file extension"),
    ("notes/run.txt", "not a sequencing input: unrecognised extension .txt"),
    ("samples.csv", "not a sequencing input: unrecognised extension .csv"),
    ("NA12878.json", "not a sequencing input: unrecognised extension .json"),
]


@pytest.mark.parametrize(("key", "reason"), UNKNOWN, ids=[u[0] or "empty" for u in UNKNOWN])
def test_not_inputs_say_why(key, reason):
    c = classify(key)
    assert (c.kind, c.reason, c.mate) == ("unknown", reason, None)


def test_unknown_keeps_the_folders_for_reporting():
    assert classify("PRJ/NA12878/NA12878.bam.bai") == Classified(
        "unknown", project="PRJ", sample_id="NA12878", reason="index file, not an input")


def test_mates_of_one_sample_agree():
    names = ["NA12878_S1_L001_R1_001.fastq.gz", "NA12878_S1_L001_R2_001.fastq.gz"]
    r1, r2 = (classify(f"PRJ/NA12878/{n}") for n in names)
    assert (r1.sample_id, r1.lane, r1.project) == (r2.sample_id, r2.lane, r2.project)
    assert (r1.mate, r2.mate) == ("R1", "R2")


@given(st.text(max_size=80))
def test_any_key_classifies_without_error(key):
    c = classify(key)
    assert c.kind in ("fastq", "ora", "bam", "cram", "sample_sheet", "unknown")
    assert (c.kind == "unknown") == (c.reason is not None)
    if c.kind in ("fastq", "ora"):
        assert c.mate in ("R1", "R2") and c.sample_id
