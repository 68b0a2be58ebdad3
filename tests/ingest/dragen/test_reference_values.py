"""Values read by hand from the reference files (line numbers from ``grep -n``), checked row by row.

These back the golden files with assertions a reviewer can check against the file in one look:
the raw key as written, count and percent as two numbers, NA/empty/inf/text, exact seconds,
phenotype, version, ids stable across padding and DRAGEN versions.
"""

from __future__ import annotations

import math

from tests.ingest.dragen.conftest import metric, rows_of

MAP = "MAPPING/ALIGNING SUMMARY"
PER_RG = "MAPPING/ALIGNING PER RG"


def test_mapped_reads_count_and_percent_are_two_numbers(parsed) -> None:
    row = metric(parsed("TEST"), "TEST.mapping_metrics.csv", MAP, "Mapped reads")
    assert (row["line"], row["value"], row["value_pct"]) == (8, 10104044, 99.62)
    assert (row["metric_id"], row["unit"], row["value_text"]) == ("mapped_reads", "count",
                                                                  "10104044")
    assert row["phenotype"] is None and row["read_group"] == ""


def test_summary_and_per_rg_share_an_id_but_keep_their_own_key_and_value(parsed) -> None:
    run = parsed("TEST")
    summary = metric(run, "TEST.mapping_metrics.csv", MAP, "Insert length: mean")
    per_rg = metric(run, "TEST.mapping_metrics.csv", PER_RG, "Insert length: mean", "0")
    assert (summary["line"], summary["value"]) == (49, 496.00)
    assert (per_rg["line"], per_rg["value"]) == (100, 496.49)
    assert summary["metric_id"] == per_rg["metric_id"] == "insert_length_mean_bp"
    total = metric(run, "TEST.mapping_metrics.csv", PER_RG, "Total reads in RG", "0")
    assert (total["line"], total["metric_id"], total["value"]) == (54, "total_reads", 10142922)


def test_na_is_null_with_the_raw_text_kept(parsed) -> None:
    row = metric(parsed("TEST"), "TEST.mapping_metrics.csv", MAP,
                 "Number of duplicate marked and mate reads removed")
    assert (row["line"], row["value"], row["value_pct"], row["value_text"]) == (3, None, None, "NA")
    contamination = metric(parsed("NA12878_NFE_B_A04_NS2000"),
                           "NA12878_NFE_B_A04_NS2000.mapping_metrics.csv", MAP,
                           "Estimated sample contamination")
    assert (contamination["line"], contamination["value"], contamination["value_text"]) == \
        (53, None, "NA")
    assert (contamination["metric_id"], contamination["unit"]) == \
        ("estimated_sample_contamination", "ratio")


def test_empty_value_is_null_with_empty_raw_text(parsed) -> None:
    row = metric(parsed("TEST"), "TEST.ploidy_estimation_metrics.csv", "PLOIDY ESTIMATION",
                 "Ploidy estimation")
    assert (row["line"], row["value"], row["value_text"], row["unit"]) == (4, None, "", "text")


def test_inf_is_infinity(parsed) -> None:
    row = metric(parsed("issue_2328_inf_values"), "sample.wgs_coverage_metrics.csv",
                 "COVERAGE SUMMARY", "Mean/Median autosomal coverage ratio over genome")
    assert row["line"] == 32 and math.isinf(row["value"]) and row["value"] > 0
    assert row["value_text"] == "inf"
    assert row["metric_id"] == "genome_mean_median_autosomal_coverage_ratio"


def test_bin_padding_does_not_change_the_id(parsed) -> None:
    narrow = metric(parsed("TEST"), "TEST.wgs_coverage_metrics.csv", "COVERAGE SUMMARY",
                    "PCT of genome with coverage [ 20x: inf)")
    wide = metric(parsed("issue_2328_inf_values"), "sample.wgs_coverage_metrics.csv",
                  "COVERAGE SUMMARY", "PCT of genome with coverage [  20x: inf)")
    assert (narrow["line"], narrow["value"]) == (7, 1.17)
    assert (wide["line"], wide["value"]) == (11, 2.57)
    assert narrow["metric_id"] == wide["metric_id"] == "genome_ge_20x_pct"
    newer = metric(parsed("issue_2328_inf_values"), "sample.wgs_coverage_metrics.csv",
                   "COVERAGE SUMMARY", "PCT of genome with coverage [1500x: inf)")
    assert newer["metric_id"] == "genome_ge_1500x_pct"
    between = metric(parsed("issue_2328_inf_values"), "sample.wgs_coverage_metrics.csv",
                     "COVERAGE SUMMARY", "PCT of genome with coverage [  20x:  50x)")
    assert (between["metric_id"], between["value"]) == ("genome_20x_50x_pct", 0.80)


def test_region_words_give_region_ids(parsed) -> None:
    run = parsed("NA12878_NFE_B_A04_NS2000")
    target = metric(run, "NA12878_NFE_B_A04_NS2000.target_bed_coverage_metrics.csv",
                    "COVERAGE SUMMARY", "PCT of target region with coverage [ 20x: inf)")
    assert (target["metric_id"], target["value"]) == ("target_ge_20x_pct", 93.68)
    qc = metric(parsed("_artificial"), "sample_0.qc-coverage-region-1_coverage_metrics.csv",
                "COVERAGE SUMMARY", "PCT of QC coverage region with coverage [  20x: inf)")
    assert (qc["metric_id"], qc["value"], qc["file_type"]) == \
        ("qc_region_ge_20x_pct", 56.56, "qc-coverage-region-1_coverage_metrics")
    bed = metric(run, "NA12878_NFE_B_A04_NS2000.mapping_metrics.csv", MAP,
                 "Bases in target bed [% of genome]")
    assert (bed["line"], bed["value"], bed["value_pct"]) == (47, 45326818, 1.44)


def test_text_values_are_text(parsed) -> None:
    ploidy = metric(parsed("T_SRR7890936_50pc"), "T_SRR7890936_50pc.ploidy_estimation_metrics.csv",
                    "PLOIDY ESTIMATION", "Ploidy estimation")
    assert (ploidy["value"], ploidy["value_text"], ploidy["unit"]) == (None, "X0", "text")
    for name in ("dragen-old.quant_metrics.csv", "dragen43.quant_metrics.csv"):
        row = metric(parsed("issue_3009_rna_metrics"), name, "RNA QUANTIFICATION STATISTICS",
                     "Library orientation")
        assert (row["line"], row["value_text"], row["unit"]) == (1, "ISR", "text")


def test_times_are_exact_seconds_not_the_rounded_column(parsed) -> None:
    total = metric(parsed("T_SRR7890936_50pc"), "T_SRR7890936_50pc.time_metrics.csv", "RUN TIME",
                   "Total runtime")
    assert total["value"] == 12748.426  # the file's seconds column says 12748.43
    assert (total["value_text"], total["unit"], total["metric_id"], total["value_pct"]) == \
        ("03:32:28.426", "s", "total_runtime_s", None)
    small = metric(parsed("TEST"), "TEST.time_metrics.csv", "RUN TIME", "Total runtime")
    assert small["value"] == 92.032  # file: 00:01:32.032,92.03


def test_step_names_that_differ_between_runs_get_their_own_ids(parsed) -> None:
    dedup = metric(parsed("T_SRR7890936_50pc"), "T_SRR7890936_50pc.time_metrics.csv", "RUN TIME",
                   "Time sorting and marking duplicates")
    nodedup = metric(parsed("T_SRR7890936_50pc_nodedup"), "T_SRR7890936_50pc.time_metrics.csv",
                     "RUN TIME", "Time sorting")
    assert dedup["metric_id"] == "time_sorting_and_marking_duplicates_s"
    assert nodedup["metric_id"] == "time_sorting_s"
    assert dedup["value"] == 7098.388  # 01:58:18.388


def test_tumour_normal_phenotype_from_section_prefix_and_file_suffix(parsed) -> None:
    run = parsed("T_SRR7890936_50pc")
    tumour = metric(run, "T_SRR7890936_50pc.mapping_metrics.csv", "TUMOR " + MAP, "Mapped reads")
    normal = metric(run, "T_SRR7890936_50pc.mapping_metrics.csv", "NORMAL " + MAP, "Mapped reads")
    assert (tumour["phenotype"], tumour["value"], tumour["value_pct"]) == \
        ("tumor", 2130883930, 96.86)
    assert (normal["phenotype"], normal["value"], normal["value_pct"]) == \
        ("normal", 1066826874, 96.98)
    assert tumour["metric_id"] == normal["metric_id"] == "mapped_reads"
    for phenotype, mean in (("tumor", 82.09), ("normal", 45.61)):
        cov = metric(run, f"T_SRR7890936_50pc.wgs_coverage_metrics_{phenotype}.csv",
                     "COVERAGE SUMMARY", "Average alignment coverage over genome")
        assert (cov["phenotype"], cov["value"], cov["file_type"]) == \
            (phenotype, mean, "wgs_coverage_metrics")
        overall = metric(run, f"T_SRR7890936_50pc.wgs_overall_mean_cov_{phenotype}.csv", "",
                         f"{phenotype.upper()} Average alignment coverage over wgs")
        assert (overall["phenotype"], overall["value"], overall["metric_id"]) == \
            (phenotype, mean, "overall_mean_coverage_x")


def test_replay_gives_version_command_line_inputs_and_sample_phenotypes(parsed) -> None:
    run = parsed("T_SRR7890936_50pc")
    assert run.dragen_version == "05.021.335.3.5.2"
    for tbl in run.tables.values():
        assert tbl.column("dragen_version").unique().to_pylist() == ["05.021.335.3.5.2"]
    replay = "T_SRR7890936_50pc-replay.json"
    command = metric(run, replay, "REPLAY", "command_line")["value_text"]
    assert command.startswith("/opt/edico/bin/dragen --output-directory results/T_SRR7890936_50pc")
    size = metric(run, replay, "REPLAY INPUTS", "size_in_bytes",
                  "/newvolume/input/N_SRR7890889_1.fastq.gz")
    assert (size["value"], size["unit"], size["metric_id"]) == (47473606379, "bytes",
                                                                "input_size_bytes")
    assert len([r for r in rows_of(run, "qc_metrics", replay) if r["section"] == "REPLAY CONFIG"]) \
        == 377
    # vc_metrics names only the tumour sample; the replay's --RGSM-tumor says it is the tumour.
    snps = metric(run, "T_SRR7890936_50pc.vc_metrics.csv", "VARIANT CALLER POSTFILTER", "SNPs",
                  "T_SRR7890936_50pc")
    assert (snps["phenotype"], snps["value"], snps["metric_id"]) == \
        ("tumor", 104900, "vc_postfilter_snps")


def test_fragment_length_histogram_keeps_each_sample_as_a_series(parsed) -> None:
    run = parsed("T_SRR7890936_50pc")
    bins = rows_of(run, "qc_histograms", "T_SRR7890936_50pc.fragment_length_hist.csv")
    by_series = {}
    for b in bins:
        by_series.setdefault(b["series"], []).append(b)
    assert set(by_series) == {"N_SRR7890889", "T_SRR7890936_50pc"}
    first_tumour = by_series["T_SRR7890936_50pc"][0]
    # line 39173 is "#Sample: T_SRR7890936_50pc", 39174 the header, 39175 "53,2"
    assert (first_tumour["line"], first_tumour["label"], first_tumour["x"],
            first_tumour["value"], first_tumour["phenotype"]) == (39175, "53", 53.0, 2.0, "tumor")
    assert {b["phenotype"] for b in by_series["N_SRR7890889"]} == {"normal"}
    test_bins = rows_of(parsed("TEST"), "qc_histograms", "TEST.fragment_length_hist.csv")
    assert {b["series"] for b in test_bins} == {"NA12878Pcr-FreeHiSeqX"}  # not the prefix TEST
    assert (test_bins[0]["line"], test_bins[0]["x"], test_bins[0]["value"]) == (3, 49.0, 1.0)


def test_coverage_histograms_have_numeric_bins(parsed) -> None:
    fine = rows_of(parsed("TEST"), "qc_histograms", "TEST.wgs_fine_hist.csv")
    assert len(fine) == 1001
    assert (fine[0]["line"], fine[0]["x"], fine[0]["x_end"], fine[0]["value"]) == \
        (2, 0.0, 1.0, 2936419841)
    assert (fine[-1]["line"], fine[-1]["label"], fine[-1]["x"], fine[-1]["x_end"]) == \
        (1002, "1000+", 1000.0, math.inf)
    assert {b["series"] for b in fine} == {"Overall"}
    binned = rows_of(parsed("TEST"), "qc_histograms", "TEST.wgs_hist.csv")
    assert [(b["x"], b["x_end"], b["value"]) for b in binned][:3] == \
        [(100.0, math.inf, 0.0), (50.0, 100.0, 0.25), (20.0, 50.0, 0.92)]
    assert binned[0]["unit"] == "pct" and binned[0]["series"] == "wgs"


def test_contig_coverage(parsed) -> None:
    contigs = {r["contig"]: r for r in rows_of(parsed("TEST"), "qc_contig_coverage",
                                               "TEST.wgs_contig_mean_cov.csv")}
    assert len(contigs) == 3367
    chr5 = contigs["chr5"]
    assert (chr5["line"], chr5["aligned_bases"], chr5["mean_coverage_x"], chr5["contig_kind"]) == \
        (5, 17465, 9.7579e-05, "primary")
    assert contigs["chrM"]["contig_kind"] == "mito"
    assert contigs["HLA-A*01:01:01:01"]["line"] == 2842
    assert contigs["HLA-A*01:01:01:01"]["contig_kind"] == "hla"
    summary = contigs["Autosomal regions "]  # the name as written ends with a space
    assert (summary["contig_kind"], summary["aligned_bases"], summary["line"]) == \
        ("summary", 1422262637, 3367)


def test_fastqc_distributions_are_histograms(parsed) -> None:
    bins = rows_of(parsed("TEST"), "qc_histograms", "TEST.fastqc_metrics.csv")
    assert len(bins) == 6861
    q = next(b for b in bins if b["line"] == 1784)
    assert (q["section"], q["read_group"], q["label"]) == \
        ("POSITIONAL QUALITY", "Read1", "ReadPos 1 1% Quantile QV")
    assert (q["histogram"], q["series"], q["x"], q["value"], q["unit"]) == \
        ("fastqc_positional_quality", "Read1 1% quantile", 1.0, 11.0, "quality")
    adapter = next(b for b in bins if b["label"] == "'AGATCGGAAGAG' 1bp Starts")
    assert (adapter["series"], adapter["x"]) == ("Read1 AGATCGGAAGAG", 1.0)
    totals = [b for b in rows_of(parsed("NA12878_NFE_B_A04_NS2000"), "qc_histograms",
                                 "NA12878_NFE_B_A04_NS2000.fastqc_metrics.csv")
              if b["label"].endswith("Total Sequence Starts")]
    assert totals and all(b["x"] is None for b in totals)  # kept, with no x


def test_variant_caller_metrics(parsed) -> None:
    callability = metric(parsed("Sample_1"), "Sample_1.vc_metrics.csv",
                         "VARIANT CALLER POSTFILTER", "Percent Callability", "NA12878_downsample")
    assert (callability["line"], callability["value"], callability["metric_id"]) == \
        (26, 73.1769, "vc_postfilter_callability_pct")
    tmb = metric(parsed("Sample_1"), "Sample_1.vc_metrics.csv", "VARIANT CALLER POSTFILTER", "TMB",
                 "NA12878_downsample")
    assert (tmb["line"], tmb["value"], tmb["value_text"]) == (24, None, "NA")
    gvcf = metric(parsed("0201424131"), "0201424131.gvcf_metrics.csv",
                  "VARIANT CALLER POSTFILTER GVCF", "SNPs", "0201424131")
    vc = metric(parsed("0201424131"), "0201424131.vc_metrics.csv", "VARIANT CALLER POSTFILTER",
                "SNPs", "0201424131")
    assert (gvcf["metric_id"], gvcf["value"], gvcf["value_pct"]) == \
        ("gvcf_postfilter_snps", 3835336, 80.03)
    assert (vc["metric_id"], vc["value"]) == ("vc_postfilter_snps", 3835382)


def test_single_end_run_has_no_r2_counts(parsed) -> None:
    rows = rows_of(parsed("6405-JL-0001_111"), "qc_metrics", "6405-JL-0001_111.mapping_metrics.csv")
    names = {r["metric_name"] for r in rows if r["section"] == MAP}
    assert "Q30 bases R1" in names and "Q30 bases R2" not in names
    soft = metric(parsed("6405-JL-0001_111"), "6405-JL-0001_111.mapping_metrics.csv", MAP,
                  "Soft-clipped bases R2")
    assert (soft["line"], soft["value"], soft["value_text"]) == (30, None, "NA")


def test_rna_quant_old_and_43_formats(parsed) -> None:
    run = parsed("issue_3009_rna_metrics")
    old = metric(run, "dragen-old.quant_metrics.csv", "RNA QUANTIFICATION STATISTICS",
                 "Transcript fragments")
    assert (old["metric_id"], old["value"], old["value_pct"]) == \
        ("rna_transcript_fragments", 27628845, 87.03)
    reverse = metric(run, "dragen43.quant_metrics.csv", "RNA QUANTIFICATION STATISTICS",
                     "Reverse transcript fragments")
    forward = metric(run, "dragen43.quant_metrics.csv", "RNA QUANTIFICATION STATISTICS",
                     "Forward transcript fragments")
    assert (reverse["metric_id"], reverse["value"]) == ("rna_reverse_transcript_fragments",
                                                        27628845)
    assert (forward["metric_id"], forward["value"], forward["value_pct"]) == \
        ("rna_forward_transcript_fragments", 0, 0.0)


def test_gc_cnv_sv_roh_hethom_and_insert_stats(parsed) -> None:
    gc = metric(parsed("TEST_GC_METRICS"), "TEST_GC_METRICS.gc_metrics.csv", "GC BIAS DETAILS",
                "Windows at GC 100")
    assert (gc["line"], gc["value"], gc["value_pct"], gc["metric_id"]) == \
        (6, 639, 0.0, "gc_windows_at_gc_100")
    art = parsed("_artificial")
    sex = metric(art, "GV_2361_dragen.cnv_metrics.csv", "SEX GENOTYPER", "GV_2361")
    assert (sex["line"], sex["value_text"], sex["value"], sex["value_pct"], sex["metric_id"]) == \
        (1, "XX", 0.8593, None, "cnv_sex_genotype")
    sv = [r for r in rows_of(art, "qc_metrics", "R_842_dragen.sv_metrics.csv")
          if r["metric_name"] == "Total number of structural variants (PASS)"]
    assert {(r["read_group"], r["value"]) for r in sv} == {("R_842", 12293), ("R_184", 12154)}
    roh = metric(art, "ADRCV_55146_dragen.roh_metrics.csv", "VARIANT CALLER",
                 "Percent SNVs in large ROH ( >= 3000000)")
    assert (roh["value"], roh["metric_id"]) == (4.873, "roh_snvs_in_large_roh_pct")
    hethom = metric(art, "PtX_9299_dragen.vc_hethom_ratio_metrics.csv",
                    "VARIANT CALLER POSTFILTER", "X Het/Hom ratio", "PtX_9299")
    assert (hethom["value"], hethom["metric_id"]) == (1.070, "vc_postfilter_chrx_het_hom_ratio")
    q50 = metric(parsed("NA12878_NFE_B_A04_NS2000"), "NA12878_NFE_B_A04_NS2000.insert-stats.tab",
                 "INSERT STATS ID 0", "Q50", "0")
    assert (q50["line"], q50["value"], q50["metric_id"]) == (8, 176, "insert_q50_bp")


def test_crlf_files_leave_no_carriage_returns(parsed) -> None:
    art = parsed("_artificial")
    assert art.quarantine == []
    texts = [r["value_text"] for r in art.rows("qc_metrics")]
    assert not any("\r" in (t or "") for t in texts)
    overall = metric(art, "sample_0.wgs_overall_mean_cov.csv", "",
                     "Average alignment coverage over C:/path/to/Whole_genome_756")
    assert overall["value"] == 0.64  # a file with no final newline and no space before the value


def test_every_reference_line_becomes_a_row_and_nothing_is_quarantined(parsed, dragen_ref) -> None:
    from tests.ingest.dragen.conftest import FOLDERS

    for folder in FOLDERS:
        run = parsed(folder)
        assert run.quarantine == [], folder
        for outcome in run.files:
            if not outcome.family or outcome.family == "replay":
                continue
            data = (dragen_ref / folder / outcome.name).read_bytes()
            lines = len(data.splitlines())
            expected = {
                "fine_hist": lines - 1,  # the Depth,Overall header
                "fragment_length_hist": lines - 2 * data.count(b"#Sample:"),  # #Sample + header
                "insert_stats": (lines - 1) * 13,  # header; 13 value columns per line
            }.get(outcome.family, lines)
            assert (outcome.rows, outcome.problems) == (expected, 0), outcome
