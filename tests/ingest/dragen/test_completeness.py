"""Every key of the real files has a metric id; gzipped files read; dates from the run's files.

The modules of run discovery are imported inside their tests, so that the tests of the issue's
findings run (and fail) on the code before them.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.dragen.service import parse_run_files
from lake.errors import ParseError
from tests.ingest.dragen.conftest import RUN_AT, read_folder


def test_every_row_of_every_reference_file_has_a_metric_id(dragen_ref: Path) -> None:
    folders = sorted(p for p in dragen_ref.iterdir() if p.is_dir())
    assert len(folders) >= 11
    missing = set()
    for folder in folders:
        run = parse_run_files(read_folder(folder), sample_id="S", run_id="R", run_at=RUN_AT)
        assert run.rows("qc_metrics"), folder.name
        missing |= {(folder.name, r["source_file"], r["section"], r["metric_name"])
                    for r in run.rows("qc_metrics") if r["metric_id"] is None}
    assert sorted(missing) == []


@pytest.mark.parametrize(("name", "line", "metric_id", "unit"), [
    # keys the issue found in real files of newer DRAGEN versions, as DRAGEN writes them
    ("mapping_metrics", "MAPPING/ALIGNING SUMMARY,,Mapped reads adjusted for filtered mapping,"
                        "999,99.93", "mapped_reads_adjusted_filtered", "count"),
    ("mapping_metrics", "TUMOR MAPPING/ALIGNING PER RG,RG1,Reads with splice junction,5,0.1",
     "reads_with_splice_junction", "count"),
    ("cnv_metrics", "CNV SUMMARY,,Estimated tumor purity,0.62", "cnv_estimated_tumor_purity",
     "ratio"),
    ("cnv_metrics", "CNV SUMMARY,,Overall ploidy,2.1", "cnv_overall_ploidy", "ratio"),
    ("trimmer_metrics", "TRIMMER STATISTICS,,Adapter trimmed reads R1 3prime,100,0.10",
     "trimmer_adapter_trimmed_reads_r1_3prime", "count"),
    ("trimmer_metrics", "TRIMMER STATISTICS,,Adapter trimmed bases R2 5prime,1000,0.01",
     "trimmer_adapter_trimmed_bases_r2_5prime", "bp"),
    ("trimmer_metrics", "TRIMMER STATISTICS,,Poly-G soft trimmed reads filtered R1 5prime,0,0.00",
     "trimmer_poly_g_soft_trimmed_reads_filtered_r1_5prime", "count"),
])
def test_keys_of_newer_dragen_versions_have_ids(name: str, line: str, metric_id: str,
                                                 unit: str) -> None:
    run = parse_run_files({f"X.{name}.csv": f"{line}\n".encode()}, sample_id="S", run_id="R",
                          run_at=RUN_AT)
    (row,) = run.rows("qc_metrics")
    assert (row["metric_id"], row["unit"]) == (metric_id, unit)
    assert run.quarantine == []


def test_the_sex_genotype_value_is_its_confidence_with_that_unit() -> None:
    data = b"SEX GENOTYPER,,S1,XX,0.8593\nSEX GENOTYPER,,S2,XY\n"
    run = parse_run_files({"S.cnv_metrics.csv": data}, sample_id="S", run_id="R", run_at=RUN_AT)
    rows = {r["metric_name"]: r for r in run.rows("qc_metrics")}
    assert [(r["value"], r["value_text"], r["unit"], r["value_pct"], r["metric_id"])
            for r in rows.values()] == [(0.8593, "XX", "ratio", None, "cnv_sex_genotype"),
                                        (None, "XY", "ratio", None, "cnv_sex_genotype")]
    assert run.quarantine == []


def test_gzipped_metric_files_give_the_rows_of_the_plain_ones(dragen_ref: Path) -> None:
    plain = read_folder(dragen_ref / "T_SRR7890936_50pc")
    packed = {f"{k}.gz" if k.startswith("T_") else k: gzip.compress(v) if k.startswith("T_")
              else v for k, v in plain.items()}
    a = parse_run_files(plain, sample_id="S", run_id="R", run_at=RUN_AT)
    b = parse_run_files(packed, sample_id="S", run_id="R", run_at=RUN_AT)
    assert b.row_counts == a.row_counts and b.dragen_version == a.dragen_version
    for table in a.tables:
        strip = [{**r, "source_file": r["source_file"].removesuffix(".gz")}
                 for r in b.rows(table)]
        assert strip == a.rows(table), table


@pytest.mark.parametrize(("data", "reason"), [
    (b"MAPPING/ALIGNING SUMMARY,,Total input reads,1\n", "not gzip data"),
    (gzip.compress(b"MAPPING/ALIGNING SUMMARY,,Total input reads,1\n", mtime=0)[:-12],
     "gzip data cut short"),
], ids=["not-gzip", "cut-short"])
def test_a_bad_gzip_file_is_quarantined_and_the_rest_loads(dragen_ref: Path, data: bytes,
                                                            reason: str) -> None:
    files = {**read_folder(dragen_ref / "TEST"), "TEST.vc_metrics.csv.gz": data}
    run = parse_run_files(files, sample_id="S", run_id="R", run_at=RUN_AT)
    (q,) = run.quarantine
    assert q["source"] == "R/TEST.vc_metrics.csv.gz" and q["reason"].startswith(reason)
    assert run.row_counts["qc_metrics"] == 162  # TEST alone


def test_a_gzip_bomb_is_refused() -> None:
    from ingest.dragen.text import MAX_FILE_BYTES

    data = gzip.compress(b"0" * (MAX_FILE_BYTES + 10))
    run = parse_run_files({"X.mapping_metrics.csv.gz": data}, sample_id="S", run_id="R",
                          run_at=RUN_AT)
    assert "unpacks to more than" in run.quarantine[0]["reason"]


def test_the_run_date_comes_from_the_replay_or_the_time_metrics(dragen_ref: Path) -> None:
    from ingest.dragen.run_date import run_date

    files = read_folder(dragen_ref / "T_SRR7890936_50pc")
    assert run_date(files) is None  # the reference runs carry no date
    doc = json.loads(files["T_SRR7890936_50pc-replay.json"])
    # a replay that does carry one (constructed: the real replay plus a date and a timeout)
    dated = {**files, "T_SRR7890936_50pc-replay.json": json.dumps(
        {**doc, "date": "Fri May 17 08:00:00 2024", "system": {**doc["system"],
         "end_time": "2024-05-17T12:30:00+02:00", "watchdog_timeout": "2024-01-01"}}).encode()}
    run = parse_run_files(dated, sample_id="S", run_id="R", run_at=RUN_AT)
    assert run.run_at == datetime(2024, 5, 17, 10, 30, tzinfo=UTC)  # the latest, in UTC
    timed = {**files, "T_SRR7890936_50pc.time_metrics.csv": files[
        "T_SRR7890936_50pc.time_metrics.csv"] + b"RUN TIME,,Run end time,2024-06-01 09:00:00\n"}
    assert run_date(timed) == datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(ParseError, match="no run date.*--run-at"):
        parse_run_files(files, sample_id="S", run_id="R")


@pytest.mark.parametrize("text", ["01:31:29.713", "12748.43", "NA", "", "1999-12-31T00:00:00"])
def test_durations_numbers_and_old_times_are_not_run_dates(text: str) -> None:
    from ingest.dragen.run_date import parse_time

    assert parse_time(text) is None


def test_group_runs_splits_a_folder_by_output_prefix() -> None:
    from ingest.dragen.discovery import group_runs

    paths = ["/r/a/X.mapping_metrics.csv", "/r/a/X-replay.json", "/r/a/bam_list.csv",
             "/r/a/X.bam", "/r/m/Y.wgs_coverage_metrics_tumor.csv", "/r/m/Z.vc_metrics.csv.gz",
             "/r/m/streaming_log.csv", "/r/m/Z.custom.csv", "/r/n/notes.csv"]
    found = group_runs("/r", paths)
    assert [(r.label, r.names) for r in found.runs] == [
        ("a/X", ("X-replay.json", "X.mapping_metrics.csv", "bam_list.csv")),
        ("m/Y", ("Y.wgs_coverage_metrics_tumor.csv",)),
        ("m/Z", ("Z.custom.csv", "Z.vc_metrics.csv.gz"))]
    assert found.orphans == [
        ("/r/m/streaming_log.csv", "in a folder of 2 runs, and names none of them"),
        ("/r/n/notes.csv", "names no DRAGEN output prefix")]
    assert found.other_files == 1
    assert group_runs("/r", ["/r/n/notes.csv"], whole_folder=True).runs[0].names == \
        ("notes.csv",)


@pytest.mark.parametrize(("name", "prefix"), [
    ("NA12878.v2.mapping_metrics.csv", "NA12878.v2"), ("S-1-replay.json", "S-1"),
    ("sample_0.qc-coverage-region-1_coverage_metrics.csv", "sample_0"),
    ("T.wgs_fine_hist_normal.csv.gz", "T"), ("x.insert-stats.tab", "x"),
    ("bam_list.csv", None), ("replay.json", None), ("notes.csv", None)])
def test_output_prefix(name: str, prefix: str | None) -> None:
    from ingest.dragen.discovery import output_prefix

    assert output_prefix(name) == prefix


def test_ids_from_the_files_are_the_same_for_a_copy_and_differ_for_a_rerun(
        dragen_ref: Path) -> None:
    from ingest.dragen.ids import content_digest, ids_from_files, replay_sample

    files = read_folder(dragen_ref / "T_SRR7890936_50pc")
    rerun = read_folder(dragen_ref / "T_SRR7890936_50pc_nodedup")
    command = json.loads(files["T_SRR7890936_50pc-replay.json"])["command_line"]
    a = ids_from_files("T_SRR7890936_50pc", "x", command, files)
    assert a.sample_id == "T_SRR7890936_50pc"  # --RGSM-tumor, not the normal's --RGSM
    assert a.run_id == f"T_SRR7890936_50pc-{content_digest(files)[:12]}"
    assert ids_from_files("T_SRR7890936_50pc", "y", command, dict(files)) == a
    assert ids_from_files("T_SRR7890936_50pc", "x", command, rerun).run_id != a.run_id
    assert replay_sample("dragen --RGSM NA12878 --RGID rg1 -1 a.fq") == "NA12878"
    assert replay_sample("dragen --RGSM=NA1 --vc-sample-name x") == "NA1"
    assert ids_from_files(None, "folder", None, {}).sample_id == "folder"


@pytest.mark.parametrize(("text", "error"), [
    ("folder,sample\nx,y\n", "runs.csv:1: the header must name folder, sample_id, run_id"),
    ("folder,sample_id,run_id\na,S,R\na/,S2,R2\n", "runs.csv:3: folder 'a/' repeats line 2"),
    ("folder,sample_id,run_id\na,,R\n", "runs.csv:2: empty sample_id"),
    ("folder,sample_id,run_id,run_date\na,S,R\n", "runs.csv:2: expected 4 fields, found 3"),
])
def test_a_bad_mapping_names_its_line(text: str, error: str) -> None:
    from ingest.dragen.ids import IdMapping

    with pytest.raises(ParseError) as e:
        IdMapping.from_csv(text, "runs.csv")
    assert str(e.value).startswith(error)
