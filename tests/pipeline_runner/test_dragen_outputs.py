"""Synthetic DRAGEN files: the layout of the real files, values shaped on real germline WGS."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import replace

import pytest

from pipeline_runner.dragen_outputs import (
    dragen_runtime_s,
    dragen_version_for,
    profile_for,
    render_metrics,
)
from pipeline_runner.workflows import RECALL

SAMPLE = "NA12878-A01"
FILES = {"mapping_metrics.csv", "wgs_coverage_metrics.csv", "wgs_overall_mean_cov.csv",
         "vc_metrics.csv", "time_metrics.csv", "ploidy_estimation_metrics.csv",
         "wgs_fine_hist.csv", "fragment_length_hist.csv", "wgs_contig_mean_cov.csv"}


def lines(text: str) -> list[list[str]]:
    assert text.endswith("\n") and "\r" not in text
    return [line.split(",") for line in text.splitlines()]


def names(text: str, section_prefix: str = "") -> list[tuple[str, str]]:
    return [(f[0], f[2]) for f in lines(text) if f[0].startswith(section_prefix)]


def real(reference, relative: str) -> str:
    return (reference / "dragen" / relative).read_text()


def rendered(version: str = "07.021.624.4.2.4", **overrides) -> dict[str, str]:
    profile = replace(profile_for(SAMPLE, 11, dragen_version=version), **overrides)
    files = render_metrics(SAMPLE, profile)
    return {name.removeprefix(f"{SAMPLE}.").removeprefix(f"{SAMPLE}-"): text
            for name, text in files.items()}


def values(text: str) -> dict[tuple[str, str], list[str]]:
    return {(f[0], f[2]): f[3:] for f in lines(text)}


def test_the_contract_files_are_all_there():
    files = render_metrics(SAMPLE, profile_for(SAMPLE, 1))
    assert set(files) == {f"{SAMPLE}.{f}" for f in FILES} | {f"{SAMPLE}-replay.json"}


def test_mapping_metrics_have_the_real_sections_names_and_order(reference):
    text = rendered()["mapping_metrics.csv"]
    test = real(reference, "TEST/TEST.mapping_metrics.csv")
    target = real(reference,
                  "NA12878_NFE_B_A04_NS2000/NA12878_NFE_B_A04_NS2000.mapping_metrics.csv")
    # the summary is the newer layout (NA12878: with contamination), for a genome (TEST's wording)
    expected = [(s, m.replace("over target region", "over genome"))
                for s, m in names(target, "MAPPING/ALIGNING SUMMARY")]
    assert names(text, "MAPPING/ALIGNING SUMMARY") == expected
    assert set(expected) - set(names(test)) == {("MAPPING/ALIGNING SUMMARY",
                                                "Estimated sample contamination")}
    assert names(text, "MAPPING/ALIGNING PER RG") == names(test, "MAPPING/ALIGNING PER RG")
    assert {f[1] for f in lines(text) if "PER RG" in f[0]} == {SAMPLE}
    # the same number of fields as the real line of the same metric: count, count + percent, NA
    widths = {(f[0], f[2]): len(f) for f in lines(test)}
    for f in lines(text):
        if (f[0], f[2]) in widths:
            assert len(f) == widths[(f[0], f[2])], f


@pytest.mark.parametrize(("version", "real_file"), [
    ("07.021.624.4.2.4", "TEST/TEST.wgs_coverage_metrics.csv"),
    ("05.021.335.3.5.2", "T_SRR7890936_50pc/T_SRR7890936_50pc.wgs_coverage_metrics_normal.csv"),
    ("07.021.636.4.3.6", "issue_2328_inf_values/sample.wgs_coverage_metrics.csv"),
])
def test_coverage_metrics_match_a_real_layout_including_bin_padding(reference, version, real_file):
    text = rendered(version)["wgs_coverage_metrics.csv"]
    assert names(text) == names(real(reference, real_file))
    assert [len(f) for f in lines(text)] == [len(f) for f in lines(real(reference, real_file))]


def test_overall_mean_coverage_line(reference):
    real_text = real(reference, "TEST/TEST.wgs_overall_mean_cov.csv")
    text = rendered()["wgs_overall_mean_cov.csv"]
    label = real_text.split(",")[0]
    assert re.fullmatch(rf"{label}, \d+\.\d\d\n", text)
    cov = values(rendered()["wgs_coverage_metrics.csv"])
    assert text.split(", ")[1].strip() == cov[("COVERAGE SUMMARY",
                                               "Average alignment coverage over genome")][0]


def test_vc_metrics_match_the_real_germline_layout(reference):
    v4 = rendered()["vc_metrics.csv"]
    assert names(v4) == names(real(reference, "0201424131/0201424131.vc_metrics.csv"))
    v3 = rendered("05.021.335.3.5.2")["vc_metrics.csv"]
    tn = real(reference, "T_SRR7890936_50pc/T_SRR7890936_50pc.vc_metrics.csv")
    assert names(v3) == names(tn)
    assert {f[1] for f in lines(v4) if "FILTER" in f[0]} == {SAMPLE}


def test_time_metrics_layout_and_time_format(reference):
    text = rendered()["time_metrics.csv"]
    real_text = real(reference, "T_SRR7890936_50pc/T_SRR7890936_50pc.time_metrics.csv")
    assert names(text) == names(real_text)
    for f in lines(text):
        h, m, s = re.fullmatch(r"(\d\d):(\d\d):(\d\d\.\d{3})", f[3]).groups()
        assert re.fullmatch(r"\d+\.\d\d", f[4])
        assert abs(int(h) * 3600 + int(m) * 60 + float(s) - float(f[4])) <= 0.005 + 1e-9
    recall = render_metrics(SAMPLE, profile_for(SAMPLE, 1, workflow=RECALL))
    assert "Time aligning reads" not in recall[f"{SAMPLE}.time_metrics.csv"]


def test_ploidy_layout(reference):
    text = rendered()["ploidy_estimation_metrics.csv"]
    real_text = real(reference,
                     "T_SRR7890936_50pc/T_SRR7890936_50pc.ploidy_estimation_metrics.csv")
    assert names(text) == names(real_text)
    assert lines(text)[-1][3] in ("XX", "XY", "X0")


def test_replay_json_has_the_real_keys(reference):
    real_replay = json.loads(real(reference, "T_SRR7890936_50pc/T_SRR7890936_50pc-replay.json"))
    command = "dragen -f -r /ref -1 s3://b/S_R1.fastq.gz -2 s3://b/S_R2.fastq.gz --RGSM NA12878-A01"
    inputs = (("fastq1", "s3://b/S_R1.fastq.gz", 10), ("fastq2", "s3://b/S_R2.fastq.gz", 12))
    text = rendered(command_line=command, inputs=inputs)["replay.json"]
    replay = json.loads(text)
    assert set(replay) == set(real_replay)
    assert set(replay["system"]) == set(real_replay["system"])
    assert set(replay["inputs"][0]) == set(real_replay["inputs"][0])
    assert replay["inputs"][1]["size_in_bytes"] == "12"
    assert replay["command_line"] == command and "\\/" in text  # DRAGEN escapes slashes
    assert {"name": "RGSM", "value": SAMPLE} in replay["dragen_config"]
    assert replay["system"]["dragen_version"] == "07.021.624.4.2.4"


def test_numbers_agree_across_files():
    files = rendered()
    m = values(files["mapping_metrics.csv"])
    s = "MAPPING/ALIGNING SUMMARY"
    total = int(m[(s, "Total input reads")][0])
    assert int(m[(s, "Total bases")][0]) == \
        int(m[(s, "Total bases R1")][0]) + int(m[(s, "Total bases R2")][0])
    mapped = int(m[(s, "Mapped reads")][0])
    assert float(m[(s, "Mapped reads")][1]) == round(100 * mapped / total, 2)
    assert mapped + int(m[(s, "Unmapped reads")][0]) == total
    mapq = sum(int(v[0]) for k, v in m.items()
               if k[0] == s and k[1].startswith("Reads with MAPQ ["))
    assert mapq == mapped
    c = values(files["wgs_coverage_metrics.csv"])
    ge = [float(c[("COVERAGE SUMMARY", f"PCT of genome with coverage [{b}: inf)")][0])
          for b in ("100x", " 50x", " 20x", " 15x", " 10x", "  3x", "  1x", "  0x")]
    assert ge == sorted(ge) and ge[-1] == 100.0
    bands = [float(v[0]) for k, v in c.items() if re.search(r"\[\s*\d+x:\s*\d+x\)", k[1])]
    assert sum(bands) == pytest.approx(100.0 - ge[0], abs=0.06)
    auto = float(c[("COVERAGE SUMMARY", "Average autosomal coverage over genome")][0])
    ploidy = values(files["ploidy_estimation_metrics.csv"])
    median = float(ploidy[("PLOIDY ESTIMATION", "Autosomal median coverage")][0])
    assert median == pytest.approx(auto, rel=0.03)
    vc = values(files["vc_metrics.csv"])
    p = "VARIANT CALLER POSTFILTER"
    ti, tv = int(vc[(p, "SNP Transitions")][0]), int(vc[(p, "SNP Transversions")][0])
    assert float(vc[(p, "Ti/Tv ratio")][0]) == round(ti / tv, 2)
    assert ti + tv == int(vc[(p, "SNPs")][0])


def test_profiles_are_deterministic_and_realistic():
    assert profile_for("S1", 5) == profile_for("S1", 5)
    assert profile_for("S1", 5) != profile_for("S1", 6)
    profiles = [profile_for(f"S{i:04d}", 2024) for i in range(600)]
    cov = [p.autosomal_coverage_x for p in profiles]
    assert 33 <= statistics.median(cov) <= 40
    low = sum(c < 30 for c in cov) / len(cov)
    assert 0.02 <= low <= 0.15  # some samples come back short, most do not
    contamination = [p.contamination_frac for p in profiles]
    assert sum(c < 0.005 for c in contamination) / len(profiles) > 0.85
    assert 0.01 <= sum(c > 0.01 for c in contamination) / len(profiles) <= 0.08
    assert 0 < sum(c > 0.03 for c in contamination) <= 0.03 * len(profiles)
    sexes = [p.ploidy for p in profiles]
    assert 0.4 < sexes.count("XX") / len(sexes) < 0.6 and 0 < sexes.count("X0") < 0.04 * len(sexes)
    clean = [p for p in profiles if p.contamination_frac < 0.002]
    assert all(1.98 <= p.ti_tv <= 2.12 for p in clean)
    assert all(1.45 <= p.het_hom <= 2.0 for p in clean)
    assert 1.6 < statistics.median(p.het_hom for p in clean) < 1.8
    assert 4.3e6 < statistics.mean(p.snps for p in profiles) < 4.8e6
    assert 0.85e6 < statistics.mean(p.indels for p in profiles) < 1.0e6


def test_qc_failures_happen_for_real_reasons():
    """Some samples fail the gate's thresholds (qc-contract.md) and the files show why."""
    fails = {"coverage": 0, "20x": 0, "contamination": 0}
    for i in range(300):
        profile = profile_for(f"S{i:04d}", 7)
        files = render_metrics(profile.sample_id, profile)
        c = values(files[f"{profile.sample_id}.wgs_coverage_metrics.csv"])
        m = values(files[f"{profile.sample_id}.mapping_metrics.csv"])
        cov = c[("COVERAGE SUMMARY", "Average autosomal coverage over genome")][0]
        at20 = c[("COVERAGE SUMMARY", "PCT of genome with coverage [ 20x: inf)")][0]
        contamination = m[("MAPPING/ALIGNING SUMMARY", "Estimated sample contamination")][0]
        fails["coverage"] += float(cov) < 30
        fails["20x"] += float(at20) < 90
        fails["contamination"] += float(contamination) > 0.01
    assert all(3 <= n <= 60 for n in fails.values()), fails


def test_runtime_model():
    assert 1.5 * 3600 < dragen_runtime_s("dragen-germline-wgs", 35, "f1.4xlarge") < 1.8 * 3600
    assert dragen_runtime_s("dragen-germline-wgs", 35, "f2.6xlarge") == pytest.approx(
        0.75 * dragen_runtime_s("dragen-germline-wgs", 35, "f1.4xlarge"))
    wgs = dragen_runtime_s("dragen-germline-wgs", 35, "f1.4xlarge")
    assert dragen_runtime_s(RECALL, 35, "f1.4xlarge") < 0.4 * wgs


def test_versions():
    assert dragen_version_for("dragen-3.5.2") == "05.021.335.3.5.2"  # the real one
    assert dragen_version_for("dragen-4.2.4").endswith(".4.2.4")
    with pytest.raises(ValueError):
        render_metrics("other", profile_for(SAMPLE, 1))


@pytest.mark.parametrize("coverage", [0.0, 1e-9])
def test_a_smoke_test_input_renders_undefined_ratios_as_na(coverage):
    """A 100-byte FASTQ pair covers nothing: ratios over zero are NA, as DRAGEN writes them."""
    profile = profile_for("TINY", 1, sequenced_coverage_x=coverage)
    files = render_metrics("TINY", profile)
    coverage_rows = dict(line.split(",")[2:4] for line in
                         files["TINY.wgs_coverage_metrics.csv"].splitlines())
    assert coverage_rows["Mean/Median autosomal coverage ratio over genome"] == "NA"
    ploidy = files["TINY.ploidy_estimation_metrics.csv"]
    assert "X median / Autosomal median,NA" in ploidy


def test_the_curves_agree_with_the_summary_metrics_and_load_cleanly(reference):
    """The depth histogram, fragment lengths and per-contig depth come from the same profile as
    the summary files, in the layout of TEST's real files, and load with nothing quarantined."""
    from datetime import UTC, datetime

    from ingest.dragen.service import parse_run_files
    from pipeline_runner.workflows import GENOME_BASES

    profile = replace(profile_for(SAMPLE, 11), ploidy="XY")
    files = rendered(ploidy="XY")
    fine = [line.split(",") for line in files["wgs_fine_hist.csv"].splitlines()]
    assert fine[0] == real(reference, "TEST/TEST.wgs_fine_hist.csv").splitlines()[0].split(",")
    assert fine[-1][0] == "1000+" and len(fine) == 1002
    counts = [int(n) for _, n in fine[1:]]
    assert sum(counts) == pytest.approx(GENOME_BASES, abs=1000)
    at20 = float(values(files["wgs_coverage_metrics.csv"])[
        ("COVERAGE SUMMARY", "PCT of genome with coverage [ 20x: inf)")][0])
    assert 100 * sum(counts[20:]) / GENOME_BASES == pytest.approx(at20, abs=0.01)

    fragments = files["fragment_length_hist.csv"].splitlines()
    assert fragments[:2] == [f"#Sample: {SAMPLE}", "FragmentLength,Count"]
    by_length = {int(x): int(n) for x, n in (row.split(",") for row in fragments[2:])}
    assert abs(max(by_length, key=by_length.get) - profile.insert_median_bp) <= 1

    contigs = {c: (int(b), float(x)) for c, b, x in (
        row.split(",") for row in files["wgs_contig_mean_cov.csv"].splitlines())}
    autosomal = float(values(files["wgs_coverage_metrics.csv"])[
        ("COVERAGE SUMMARY", "Average autosomal coverage over genome")][0])
    assert contigs["Autosomal regions "][1] == pytest.approx(autosomal, rel=0.01)
    chr_x = float(values(files["wgs_coverage_metrics.csv"])[
        ("COVERAGE SUMMARY", "Average chr X coverage over genome")][0])
    assert contigs["chrX"][1] == pytest.approx(chr_x, abs=0.005)
    assert chr_x / autosomal == pytest.approx(0.505, abs=0.01)  # XY: one X
    parsed = parse_run_files({f"{SAMPLE}.{n}": t.encode() for n, t in files.items()
                              if not n.endswith(".json")}, sample_id=SAMPLE, run_id="R",
                             run_at=datetime(2026, 11, 1, tzinfo=UTC))
    assert not parsed.quarantine
    assert parsed.row_counts["qc_histograms"] == 1001 + len(by_length)
    assert parsed.row_counts["qc_contig_coverage"] == len(contigs)
