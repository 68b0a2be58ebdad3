"""File recognition by name and content; the catalogue as data; value parsing."""

from __future__ import annotations

import math

import pytest

from ingest.dragen.catalogue import Catalogue, default_catalogue
from ingest.dragen.registry import FAMILIES, recognise
from ingest.dragen.values import duration_s, normalize_name, number

SECTION_LINE = b"MAPPING/ALIGNING SUMMARY,,Mapped reads,1,2\n"


@pytest.mark.parametrize(("name", "family", "file_type", "phenotype"), [
    ("S1.mapping_metrics.csv", "mapping_metrics", "mapping_metrics", None),
    ("S1.wgs_coverage_metrics.csv", "coverage_metrics", "wgs_coverage_metrics", None),
    ("S1.wgs_coverage_metrics_tumor.csv", "coverage_metrics", "wgs_coverage_metrics", "tumor"),
    ("s_0.qc-coverage-region-1_coverage_metrics.csv", "coverage_metrics",
     "qc-coverage-region-1_coverage_metrics", None),
    ("S1.target_bed_overall_mean_cov.csv", "overall_mean_cov", "target_bed_overall_mean_cov", None),
    ("S1.wgs_overall_mean_cov_normal.csv", "overall_mean_cov", "wgs_overall_mean_cov", "normal"),
    ("S1.wgs_contig_mean_cov_tumor.csv", "contig_mean_cov", "wgs_contig_mean_cov", "tumor"),
    ("S1.wgs_fine_hist_normal.csv", "fine_hist", "wgs_fine_hist", "normal"),
    ("S1.target_bed_hist.csv", "hist", "target_bed_hist", None),
    ("S1.fragment_length_hist.csv", "fragment_length_hist", "fragment_length_hist", None),
    ("S1.vc_metrics.csv", "vc_metrics", "vc_metrics", None),
    ("S1.gvcf_metrics.csv", "gvcf_metrics", "gvcf_metrics", None),
    ("S1.vc_hethom_ratio_metrics.csv", "vc_hethom_ratio_metrics", "vc_hethom_ratio_metrics", None),
    ("S1.quant.metrics.csv", "quant_metrics", "quant.metrics", None),
    ("S1.insert-stats.tab", "insert_stats", "insert-stats", None),
    ("S1-replay.json", "replay", "replay", None),
    ("NA.12878.v2.time_metrics.csv", "time_metrics", "time_metrics", None),  # dots in the prefix
])
def test_names_of_every_family(name: str, family: str, file_type: str, phenotype) -> None:
    found = recognise(name, b"")
    assert (found.family, found.file_type, found.phenotype) == (family, file_type, phenotype)


def test_simulator_names_are_recognised() -> None:
    """The simulated executor writes <sample_id>.<family>.csv and <sample_id>-replay.json."""
    for family in ("mapping_metrics", "wgs_coverage_metrics", "wgs_overall_mean_cov",
                   "vc_metrics", "time_metrics", "ploidy_estimation_metrics"):
        assert recognise(f"SAMPLE-0042.{family}.csv", b"").file_type == family
    assert recognise("SAMPLE-0042-replay.json", b"").family == "replay"


def test_unknown_names_are_recognised_by_content() -> None:
    assert recognise("S1.brand_new_metrics.csv", SECTION_LINE).family == "dragen_metrics"
    assert recognise("S1.brand_new_metrics.csv", b"\xef\xbb\xbf" + SECTION_LINE).family == \
        "dragen_metrics"
    assert recognise("odd.csv", b"Depth,Overall\n0,1\n").family == "fine_hist"
    assert recognise("odd.csv", b"#Sample: X\nFragmentLength,Count\n").family == \
        "fragment_length_hist"
    assert isinstance(recognise("odd.csv", b"a,b\n1,2\n"), str)
    assert isinstance(recognise("S1.bam", SECTION_LINE), str)
    assert isinstance(recognise("bam_list.csv", b"RGID,SampleID\n"), str)


def test_every_family_has_a_distinct_pattern() -> None:
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)


def test_catalogue_loads_and_keys_are_normalised() -> None:
    cat = default_catalogue()
    assert len(cat) > 250
    for section in ("MAPPING/ALIGNING SUMMARY", "TUMOR MAPPING/ALIGNING SUMMARY",
                    "NORMAL MAPPING/ALIGNING PER RG"):
        entry = cat.lookup(section, "Mapped reads")
        assert (entry.metric_id, entry.unit, entry.ga4gh_id) == ("mapped_reads", "count",
                                                                  "pct_reads_mapped")
    assert cat.lookup("MAPPING/ALIGNING SUMMARY", "Reads with MAPQ [ 0:10)").metric_id == \
        "reads_mapq_0_10"
    assert cat.lookup("COVERAGE SUMMARY", "Average autosomal coverage over genome").ga4gh_id == \
        "mean_autosome_coverage"
    assert cat.lookup("COVERAGE SUMMARY", "Average autosomal coverage over target region") \
        .ga4gh_id is None
    assert cat.lookup("RUN TIME", "Time DRAGStr calibration").metric_id == \
        "time_dragstr_calibration_s"
    assert cat.lookup("MAPPING/ALIGNING SUMMARY", "A metric from DRAGEN 9") is None
    assert cat.lookup("COVERAGE SUMMARY", "Mapped reads") is None  # the section matters


def test_ga4gh_ids_are_the_documented_ones() -> None:
    cat = default_catalogue()
    q30 = cat.lookup("MAPPING/ALIGNING SUMMARY", "Q30 bases")
    contamination = cat.lookup("MAPPING/ALIGNING SUMMARY", "Estimated sample contamination")
    assert (q30.ga4gh_id, contamination.ga4gh_id) == ("yield_bp_q30", "cross_contamination_rate")


def test_catalogue_rejects_bad_rows() -> None:
    header = "section,metric_name,metric_id,unit,ga4gh_id\n"
    with pytest.raises(ValueError, match="bad unit"):
        Catalogue.from_csv(header + "S,Name,id,furlongs,\n")
    with pytest.raises(ValueError, match="already defined"):
        Catalogue.from_csv(header + "S,Name,a,count,\nS,Name,b,count,\n")
    cat = Catalogue.from_csv("# comment\n" + header + "S|T,Q{q} Reads,q{q}_reads,count,\n")
    assert cat.lookup("T", "Q20 Reads").metric_id == "q20_reads"


@pytest.mark.parametrize(("text", "value"), [
    ("10104044", 10104044.0), ("99.62", 99.62), ("9.7579e-05", 9.7579e-05), (" 0.50", 0.5),
    ("inf", math.inf), ("NA", None), ("", None), ("X0", None), ("1_000", None),
    ("infinity", None), ("nan", None), ("1e999", None),
])
def test_number(text: str, value) -> None:
    assert number(text) == value


@pytest.mark.parametrize(("text", "seconds"), [
    ("03:32:28.426", 12748.426), ("00:00:00.000", 0.0), ("00:01:32.032", 92.032),
    ("00:27.2", 27.2), ("27.17", None), ("abc", None), ("1:2:3:4", None),
])
def test_duration(text: str, seconds) -> None:
    assert duration_s(text) == seconds


def test_normalize_name() -> None:
    assert normalize_name("PCT of genome with coverage [  20x: inf)") == \
        normalize_name("PCT of genome with coverage [ 20x: inf)") == \
        "PCT of genome with coverage [20x:inf)"
    assert normalize_name("Percent SNVs in large ROH ( >= 3000000)") == \
        "Percent SNVs in large ROH ( >= 3000000)"


def test_ga4gh_ids_fill_the_column_once_qc_metrics_has_it(dragen_ref) -> None:
    """qc_metrics has no ga4gh_id column yet (an additive change asked of the lake's owner);
    the service fills it as soon as the schema has it."""
    from ingest.dragen.registry import recognise as find
    from ingest.dragen.service import _metric_columns

    data = (dragen_ref / "TEST" / "TEST.mapping_metrics.csv").read_bytes()
    found = find("TEST.mapping_metrics.csv", data)
    parsed = found.parser("TEST.mapping_metrics.csv", data, family=found.family,
                          file_type=found.file_type)
    n, columns = _metric_columns(parsed, default_catalogue(), {}, [], with_ga4gh=True)
    by_name = dict(zip(columns["metric_name"][:53], columns["ga4gh_id"][:53], strict=True))
    assert n == 102
    assert (by_name["Q30 bases"], by_name["Mapped reads"], by_name["Insert length: mean"],
            by_name["Properly paired reads"], by_name["Total bases"]) == \
        ("yield_bp_q30", "pct_reads_mapped", "mean_insert_size", "pct_reads_properly_paired", None)
