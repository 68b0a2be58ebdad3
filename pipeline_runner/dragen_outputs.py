"""Synthetic DRAGEN metric files for the simulated executor, in the layout of real ones.

``profile_for`` draws one sample's realities (depth, duplicates, contamination, sex, variant
counts) from distributions shaped on real germline WGS; ``render_metrics`` writes them as the
files DRAGEN writes, line for line in the layout of the real files in
``reference-data/dragen`` (TEST, T_SRR7890936_50pc, NA12878_NFE_B_A04_NS2000, 0201424131):
``SECTION,RG,METRIC,VALUE[,PCT]`` with the same section and metric names, bin-label padding,
count + percent pairs and ``HH:MM:SS.mmm,seconds`` times.

Every number is derived from the profile so the files agree with one another (total bases,
duplicates, mapped reads and coverage; ploidy and chromosome X/Y coverage; runtime steps).
Some samples fail QC for real reasons: too little sequencing, a poor (duplicated or non-uniform)
library, contamination.
"""

from __future__ import annotations

import json
import math
import random
import re
import shlex
from dataclasses import dataclass

from pipeline_runner.workflows import GENOME_BASES, RECALL, WGS

# "Average alignment coverage" divides aligned bases by the non-N genome (T_SRR7890936: 139.06
# Gbases aligned / 45.61x); "Bases in reference genome" counts every base.
COVERED_GENOME_BASES = 3_049_000_000

# DRAGEN 3.5.2 calls itself 05.021.335.3.5.2 in replay.json (T_SRR7890936). Other builds'
# prefixes are not in the reference files; the simulator makes up a stable one.
KNOWN_VERSIONS = {"3.5.2": "05.021.335.3.5.2"}

# The reference files show two layouts of the coverage bins: up to 100x with labels padded to
# three digits (TEST, T_SRR7890936: DRAGEN 3.x) and up to 1500x padded to four, with an extra
# 0.4*mean uniformity line (issue_2328, a newer DRAGEN). Which release changed it is not in the
# files; the simulator switches at 4.3, so a 4.2 -> 4.3 release comparison meets the drift too.
WIDE_BINS_FROM = (4, 3)


@dataclass(frozen=True, slots=True)
class SampleProfile:
    """One sample's truths, from which every metric file is derived."""

    sample_id: str
    sequenced_coverage_x: float  # total bases / genome size
    duplicate_frac: float
    mapped_frac: float
    q30_frac: float
    insert_median_bp: int
    insert_sd_bp: float
    dark_genome_frac: float  # genome with no coverage (gaps, unmappable)
    dispersion: float  # gamma-Poisson shape of depth: lower is less uniform
    hard_frac: float  # covered genome that is hard to sequence or map (GC extremes, repeats)
    contamination_frac: float  # DRAGEN writes a fraction
    ploidy: str  # XX | XY | X0
    ti_tv: float
    het_hom: float
    snps: int
    indels: int
    mito_copies: float  # mitochondrial coverage / autosomal coverage
    dragen_version: str = "07.021.624.4.2.4"
    workflow: str = WGS
    total_runtime_s: float = 5400.0  # DRAGEN's own runtime (not the Batch job's)
    read_length: int = 151
    command_line: str = ""
    inputs: tuple[tuple[str, str, int], ...] = ()  # (type, path, size_in_bytes)
    nodename: str = "ip-10-0-12-34.ec2.internal"

    @property
    def autosomal_coverage_x(self) -> float:
        # reads lost to mapping, duplicates and overlapping/clipped bases do not count
        return self.sequenced_coverage_x * self.mapped_frac * (1 - self.duplicate_frac) * 0.985

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.dragen_version.split(".")[-3:])


def dragen_version_for(release: str) -> str:
    """The replay.json version string for a pipeline release such as ``dragen-4.2.4``."""
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", release)
    if not m:
        return KNOWN_VERSIONS["3.5.2"]
    version = ".".join(m.groups())
    if version in KNOWN_VERSIONS:
        return KNOWN_VERSIONS[version]
    major, minor, patch = (int(g) for g in m.groups())
    return f"{major + 3:02d}.021.{600 + 10 * minor + patch}.{version}"


def dragen_runtime_s(workflow: str, sequenced_coverage_x: float,
                     instance_type: str | None) -> float:
    """DRAGEN's own runtime: about 1.65 h on F1 for a 35x-sequenced genome (30x mean coverage
    after duplicates), a quarter less on F2.

    Re-calling from an aligned file skips mapping, sorting and duplicate marking (~30 %).
    Scales with depth; loading the reference and setting up the FPGA are fixed costs.
    """
    per_x = 165.0 if workflow == WGS else 50.0
    speed = 0.75 if (instance_type or "").startswith("f2.") else 1.0
    return (120.0 + per_x * sequenced_coverage_x) * speed


def draw_sequenced_coverage_x(rng: random.Random) -> float:
    """Depth a sample was sequenced to: most aim at ~40x, a few come back short."""
    u = rng.random()
    if u < 0.90:
        return min(max(rng.gauss(42.0, 3.5), 34.0), 56.0)
    if u < 0.97:
        return min(max(rng.gauss(35.0, 1.5), 31.0), 38.0)  # borderline after duplicates
    return min(max(rng.gauss(24.0, 3.0), 15.0), 30.0)  # a lane short


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def profile_for(sample_id: str, seed: int | str, *, sequenced_coverage_x: float | None = None,
                dragen_version: str = "07.021.624.4.2.4", workflow: str = WGS,
                instance_type: str | None = "f1.4xlarge") -> SampleProfile:
    """Realistic per-sample values, fixed by (seed, sample_id).

    Typical: 33-40x mean autosomal coverage, > 90 % of the genome at 20x, contamination
    < 0.5 %, Ti/Tv 2.0-2.1, Het/Hom 1.5-1.9, ~4.5 M SNPs and ~0.9 M indels. About 3 % are
    sequenced short, ~7 % borderline, ~8 % have a duplicated library, ~3 % uneven coverage, ~4 %
    contamination above 1 % (1 % above 3 %), ~1.5 % are X0.
    """
    rng = random.Random(f"dragen-profile:{seed}:{sample_id}")
    depth = (sequenced_coverage_x * _clip(rng.gauss(1.0, 0.01), 0.97, 1.03)
             if sequenced_coverage_x is not None else draw_sequenced_coverage_x(rng))
    poor_library = rng.random() < 0.08
    dup = _clip(rng.gauss(0.18, 0.04), 0.13, 0.3) if poor_library \
        else _clip(rng.gauss(0.09, 0.025), 0.03, 0.16)
    uneven = rng.random() < 0.03
    dispersion = _clip(rng.gauss(10, 3), 5, 18) if uneven else _clip(rng.gauss(45, 8), 25, 80)
    u = rng.random()
    if u < 0.93:
        contamination = min(0.0001 + rng.expovariate(1 / 0.0011), 0.0049)
    elif u < 0.96:
        contamination = rng.uniform(0.005, 0.0099)
    elif u < 0.99:
        contamination = rng.uniform(0.0101, 0.03)
    else:
        contamination = rng.uniform(0.031, 0.08)
    u = rng.random()
    ploidy = "XX" if u < 0.4925 else "XY" if u < 0.985 else "X0"
    return SampleProfile(
        sample_id=sample_id,
        sequenced_coverage_x=round(depth, 3),
        duplicate_frac=round(dup, 4),
        mapped_frac=round(_clip(rng.gauss(0.995, 0.002), 0.98, 0.9995), 5),
        q30_frac=round(_clip(rng.gauss(0.915, 0.015), 0.80, 0.97), 4),
        insert_median_bp=int(_clip(rng.gauss(420, 40), 280, 560)),
        insert_sd_bp=round(_clip(rng.gauss(105, 12), 70, 150), 2),
        dark_genome_frac=round(_clip(rng.gauss(0.022, 0.003), 0.015, 0.035), 4),
        dispersion=round(dispersion, 2),
        hard_frac=round(rng.uniform(0.02, 0.04), 4),
        contamination_frac=round(contamination, 4),
        ploidy=ploidy,
        # contamination adds false heterozygous calls, mostly transversion-rich noise
        ti_tv=round(_clip(rng.gauss(2.05, 0.02), 1.98, 2.12) - 2 * contamination, 3),
        het_hom=round(_clip(rng.gauss(1.7, 0.1), 1.45, 1.95) + 25 * contamination, 3),
        # a smoke-test input (well under 10x) calls proportionally fewer variants
        snps=int(_clip(rng.gauss(4.55e6, 0.12e6), 4.1e6, 5.0e6) * (1 + 3 * contamination)
                 * min(1.0, depth / 10)),
        indels=int(_clip(rng.gauss(0.92e6, 0.04e6), 0.8e6, 1.05e6) * min(1.0, depth / 10)),
        mito_copies=round(rng.uniform(50, 150), 1),
        dragen_version=dragen_version,
        workflow=workflow,
        total_runtime_s=round(dragen_runtime_s(workflow, depth, instance_type)
                              * _clip(rng.gauss(1.0, 0.05), 0.85, 1.15), 3),
        nodename=f"ip-10-0-{rng.randrange(1, 255)}-{rng.randrange(1, 255)}.ec2.internal",
    )


# -- formatting ------------------------------------------------------------------------------------
def _pct(n: float, d: float) -> str:
    return f"{100 * n / d:.2f}" if d else "0.00"


def _ratio(n: float, d: float) -> str:
    """``n / d`` as DRAGEN writes a ratio, or NA when it is undefined (a smoke-test input
    too small to cover anything has no median coverage and no homozygous calls)."""
    return f"{n / d:.2f}" if d else "NA"


def _hms(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _lines(rows: list[tuple]) -> str:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


# -- depth model ----------------------------------------------------------------------------------
def _nb_sf(mean: float, shape: float, max_k: int) -> list[float]:
    """P(depth >= k) for k = 0..max_k under a gamma-Poisson (negative binomial) depth."""
    p = shape / (shape + mean)
    pmf = math.exp(shape * math.log(p))
    cdf, sf = 0.0, []
    for k in range(max_k + 1):
        sf.append(max(0.0, 1.0 - cdf))
        cdf += pmf
        pmf *= (k + shape) / (k + 1) * (1 - p)
    return sf


def _depth_sf(mean: float, shape: float, hard_frac: float, max_k: int) -> list[float]:
    """P(depth >= k) over the covered genome: most of it near the mean, a hard part at about a
    third of it and very uneven (the low tail real files show: 0.8 % at 10-15x at 47x)."""
    hard_mean = 0.35 * mean
    easy_mean = (mean - hard_frac * hard_mean) / (1 - hard_frac)
    easy, hard = _nb_sf(easy_mean, shape, max_k), _nb_sf(hard_mean, 1.5, max_k)
    return [(1 - hard_frac) * e + hard_frac * h for e, h in zip(easy, hard, strict=True)]


# -- files ----------------------------------------------------------------------------------------
def _mapping(p: SampleProfile) -> str:
    rng = random.Random(f"mapping:{p.sample_id}:{p.sequenced_coverage_x}")
    L = p.read_length
    total = int(p.sequenced_coverage_x * GENOME_BASES / L) // 2 * 2
    half = total // 2
    dups = round(total * p.duplicate_frac)
    mapped = round(total * p.mapped_frac)
    mapped_r1 = round(half * min(p.mapped_frac + 0.001, 1.0))
    mapped_r2 = mapped - mapped_r1
    unmapped = total - mapped
    singleton = round(unmapped * rng.uniform(0.15, 0.3))
    paired = mapped - singleton
    proper = round(paired * rng.uniform(0.995, 0.998))
    discordant = paired - proper
    diff_chr = round(discordant * rng.uniform(0.45, 0.55))
    diff_chr_q10 = round(diff_chr * rng.uniform(0.25, 0.35))
    mapq_weights = [0.93, 0.006, 0.009, 0.015, 0.04]
    mapq = [round(mapped * w / sum(mapq_weights)) for w in mapq_weights]
    mapq[0] += mapped - sum(mapq)
    indel_r1 = round(mapped_r1 * rng.uniform(0.010, 0.014))
    indel_r2 = round(mapped_r2 * rng.uniform(0.010, 0.015))
    bases_r1 = bases_r2 = half * L
    mbases_r1 = round(mapped_r1 * L * 0.9993)
    mbases_r2 = round(mapped_r2 * L * 0.9990)
    clip_r1, clip_r2 = round(mbases_r1 * 0.0028), round(mbases_r2 * 0.0034)
    mm_r1, mm_r2 = round(mbases_r1 * 0.0031), round(mbases_r2 * 0.0045)
    mmx_r1, mmx_r2 = round(mm_r1 * 0.9), round(mm_r2 * 0.92)
    q30 = round(total * L * p.q30_frac)
    q30_r1 = round(bases_r1 * min(p.q30_frac + 0.015, 0.99))
    q30_r2 = q30 - q30_r1
    supplementary = round(mapped * rng.uniform(0.015, 0.025))
    insert_mean = p.insert_median_bp + rng.uniform(3, 12)
    aligning_s = 0.43 * p.total_runtime_s
    rows: list[tuple] = [
        ("Total input reads", total, _pct(total, total)),
        ("Number of duplicate marked reads", dups, _pct(dups, total)),
        ("Number of duplicate marked and mate reads removed", "NA"),
        ("Number of unique reads (excl. duplicate marked reads)", total - dups,
         _pct(total - dups, total)),
        ("Reads with mate sequenced", total, _pct(total, total)),
        ("Reads without mate sequenced", 0, "0.00"),
        ("QC-failed reads", 0, "0.00"),
        ("Mapped reads", mapped, _pct(mapped, total)),
        ("Mapped reads R1", mapped_r1, _pct(mapped_r1, half)),
        ("Mapped reads R2", mapped_r2, _pct(mapped_r2, half)),
        ("Number of unique & mapped reads (excl. duplicate marked reads)", mapped - dups,
         _pct(mapped - dups, total)),
        ("Unmapped reads", unmapped, _pct(unmapped, total)),
        ("Singleton reads (itself mapped; mate unmapped)", singleton, _pct(singleton, total)),
        ("Paired reads (itself & mate mapped)", paired, _pct(paired, total)),
        ("Properly paired reads", proper, _pct(proper, total)),
        ("Not properly paired reads (discordant)", discordant, _pct(discordant, total)),
        ("Paired reads mapped to different chromosomes", diff_chr, _pct(diff_chr, total)),
        ("Paired reads mapped to different chromosomes (MAPQ>=10)", diff_chr_q10,
         _pct(diff_chr_q10, total)),
        ("Reads with MAPQ [40:inf)", mapq[0], _pct(mapq[0], total)),
        ("Reads with MAPQ [30:40)", mapq[1], _pct(mapq[1], total)),
        ("Reads with MAPQ [20:30)", mapq[2], _pct(mapq[2], total)),
        ("Reads with MAPQ [10:20)", mapq[3], _pct(mapq[3], total)),
        ("Reads with MAPQ [ 0:10)", mapq[4], _pct(mapq[4], total)),
        ("Reads with MAPQ NA (Unmapped reads)", unmapped, _pct(unmapped, total)),
        ("Reads with indel R1", indel_r1, _pct(indel_r1, mapped_r1)),
        ("Reads with indel R2", indel_r2, _pct(indel_r2, mapped_r2)),
        ("Total bases", bases_r1 + bases_r2),
        ("Total bases R1", bases_r1),
        ("Total bases R2", bases_r2),
        ("Mapped bases R1", mbases_r1),
        ("Mapped bases R2", mbases_r2),
        ("Soft-clipped bases R1", clip_r1, _pct(clip_r1, mbases_r1)),
        ("Soft-clipped bases R2", clip_r2, _pct(clip_r2, mbases_r2)),
        ("Mismatched bases R1", mm_r1, _pct(mm_r1, mbases_r1)),
        ("Mismatched bases R2", mm_r2, _pct(mm_r2, mbases_r2)),
        ("Mismatched bases R1 (excl. indels)", mmx_r1, _pct(mmx_r1, mbases_r1)),
        ("Mismatched bases R2 (excl. indels)", mmx_r2, _pct(mmx_r2, mbases_r2)),
        ("Q30 bases", q30, _pct(q30, total * L)),
        ("Q30 bases R1", q30_r1, _pct(q30_r1, bases_r1)),
        ("Q30 bases R2", q30_r2, _pct(q30_r2, bases_r2)),
        ("Q30 bases (excl. dups & clipped bases)", round(q30 * (1 - p.duplicate_frac) * 0.995)),
        ("Total alignments", mapped + supplementary),
        ("Secondary alignments", 0),
        ("Supplementary (chimeric) alignments", supplementary),
        ("Estimated read length", f"{L - rng.uniform(0.05, 0.3):.2f}"),
        ("Bases in reference genome", GENOME_BASES),
        ("Bases in target bed [% of genome]", "NA"),
        ("Average sequenced coverage over genome", f"{(bases_r1 + bases_r2) / GENOME_BASES:.2f}"),
        ("Insert length: mean", f"{round(insert_mean):.2f}"),
        ("Insert length: median", f"{p.insert_median_bp:.2f}"),
        ("Insert length: standard deviation", f"{p.insert_sd_bp:.2f}"),
        ("Provided sex chromosome ploidy", "NA"),
        ("Estimated sample contamination", f"{p.contamination_frac:.4f}"),
        ("DRAGEN mapping rate [mil. reads/second]", _ratio(total / 1e6, aligning_s)),
    ]
    summary = [("MAPPING/ALIGNING SUMMARY", "", *r) for r in rows]
    # DRAGEN writes the read-group block without the genome-wide lines, and the mean insert
    # length there with its decimals (TEST and NA12878 both show it).
    per_rg_skip = {"Bases in reference genome", "Bases in target bed [% of genome]",
                   "Provided sex chromosome ploidy", "Estimated sample contamination",
                   "DRAGEN mapping rate [mil. reads/second]"}
    per_rg = []
    for r in rows:
        if r[0] in per_rg_skip:
            continue
        if r[0] == "Total input reads":
            r = ("Total reads in RG", *r[1:])
        elif r[0] == "Insert length: mean":
            r = (r[0], f"{insert_mean:.2f}")
        per_rg.append(("MAPPING/ALIGNING PER RG", p.sample_id, *r))
    return _lines(summary + per_rg)


def _coverage_values(p: SampleProfile) -> dict[str, float]:
    auto = p.autosomal_coverage_x
    x_ratio = {"XX": 0.985, "XY": 0.505, "X0": 0.5}[p.ploidy]
    y_ratio = {"XX": 0.012, "XY": 0.46, "X0": 0.008}[p.ploidy]
    genome = auto * (0.996 if p.ploidy == "XX" else 0.975)
    median = auto * (1.012 + 0.004 * (p.dispersion > 20))
    return {"auto": auto, "x": auto * x_ratio, "y": auto * y_ratio, "genome": genome,
            "median": median}


def _coverage(p: SampleProfile) -> tuple[str, str]:
    cov = _coverage_values(p)
    wide = p.version_tuple >= WIDE_BINS_FROM
    bins = [100, 50, 20, 15, 10, 3, 1, 0]
    if wide:
        bins = [1500, 1000, 500, *bins]
    width = len(str(bins[0]))
    covered = 1 - p.dark_genome_frac
    sf = _depth_sf(cov["genome"] / covered, p.dispersion, p.hard_frac, bins[0] + 1)

    def ge(k: int) -> float:  # percent of the genome with depth >= k
        return 100.0 if k == 0 else 100 * covered * sf[k]

    def label(lo: int, hi: int | None) -> str:
        top = " inf" if hi is None else f"{hi:>{width}}x"
        return f"PCT of genome with coverage [{lo:>{width}}x:{top})"

    aligned = round(cov["genome"] * COVERED_GENOME_BASES)
    reads = round(aligned / (p.read_length * 0.985))
    rows: list[tuple] = [
        ("Aligned bases", aligned),
        ("Aligned bases in genome", aligned, "100.00"),
        ("Average alignment coverage over genome", f"{cov['genome']:.2f}"),
        ("Uniformity of coverage (PCT > 0.2*mean) over genome",
         f"{100 * covered * sf[math.floor(0.2 * cov['genome']) + 1]:.2f}"),
    ]
    if wide:
        rows.append(("Uniformity of coverage (PCT > 0.4*mean) over genome",
                     f"{100 * covered * sf[math.floor(0.4 * cov['genome']) + 1]:.2f}"))
    rows += [(label(k, None), f"{ge(k):.2f}") for k in bins]
    rows += [(label(lo, hi), f"{ge(lo) - ge(hi):.2f}")
             for hi, lo in zip(bins, bins[1:], strict=False)]
    rows += [
        ("Average chr X coverage over genome", f"{cov['x']:.2f}"),
        ("Average chr Y coverage over genome", f"{cov['y']:.2f}"),
        ("Average mitochondrial coverage over genome", f"{cov['auto'] * p.mito_copies:.2f}"),
        ("Average autosomal coverage over genome", f"{cov['auto']:.2f}"),
        ("Median autosomal coverage over genome", f"{cov['median']:.2f}"),
        ("Mean/Median autosomal coverage ratio over genome", _ratio(cov["auto"], cov["median"])),
        ("Aligned reads", reads),
        ("Aligned reads in genome", reads, "100.00"),
    ]
    metrics = _lines([("COVERAGE SUMMARY", "", *r) for r in rows])
    overall = f"Average alignment coverage over wgs, {cov['genome']:.2f}\n"
    return metrics, overall


def _ploidy(p: SampleProfile) -> str:
    cov = _coverage_values(p)
    auto = cov["median"]
    x = auto * {"XX": 0.99, "XY": 0.5, "X0": 0.5}[p.ploidy]
    y = auto * 0.45 if p.ploidy == "XY" else 0.0
    rows = [
        ("Autosomal median coverage", f"{auto:.2f}"),
        ("X median coverage", f"{x:.2f}"),
        ("Y median coverage", f"{y:.2f}"),
        ("X median / Autosomal median", _ratio(x, auto)),
        ("Y median / Autosomal median", _ratio(y, auto)),
        ("Ploidy estimation", p.ploidy),
    ]
    return _lines([("PLOIDY ESTIMATION", "", *r) for r in rows])


def _variant_rows(p: SampleProfile, snps: int, indels: int, ti_tv: float, het_hom: float,
                  rng: random.Random) -> list[tuple]:
    parts = [0.177, 0.311, 0.177, 0.308]
    ins_hom, ins_het, del_hom, del_het = (round(indels * f) for f in parts)
    indel_het = indels - ins_hom - ins_het - del_hom - del_het
    total = snps + indels + round((snps + indels) * rng.uniform(0.004, 0.007))
    multi = round(total * rng.uniform(0.018, 0.024))
    biallelic = total - multi
    het = round(biallelic * het_hom / (1 + het_hom))
    hom = biallelic - het
    x_frac = 0.026 if p.ploidy == "XX" else 0.0185
    x_snps = round(snps * x_frac * rng.uniform(0.97, 1.03))
    y_snps = round(snps * rng.uniform(0.0007, 0.0009)) if p.ploidy == "XY" \
        else rng.choice((0, 0, 0, 1, 2))  # a few mis-mapped reads at most
    ti = round(snps * ti_tv / (1 + ti_tv))
    return [
        ("Total", total, _pct(total, total)),
        ("Biallelic", biallelic, _pct(biallelic, total)),
        ("Multiallelic", multi, _pct(multi, total)),
        ("SNPs", snps, _pct(snps, total)),
        ("Insertions (Hom)", ins_hom, _pct(ins_hom, total)),
        ("Insertions (Het)", ins_het, _pct(ins_het, total)),
        ("Deletions (Hom)", del_hom, _pct(del_hom, total)),
        ("Deletions (Het)", del_het, _pct(del_het, total)),
        ("Indels (Het)", indel_het, _pct(indel_het, total)),
        ("Chr X number of SNPs over genome", x_snps),
        ("Chr Y number of SNPs over genome", y_snps),
        ("(Chr X SNPs)/(chr Y SNPs) ratio over genome",
         _ratio(x_snps, y_snps)),
        ("SNP Transitions", ti),
        ("SNP Transversions", snps - ti),
        ("Ti/Tv ratio", _ratio(ti, snps - ti)),
        ("Heterozygous", het),
        ("Homozygous", hom),
        ("Het/Hom ratio", _ratio(het, hom)),
        ("In dbSNP", 0, "0.00"),
        ("Not in dbSNP", 0, "0.00"),
    ]


def _vc(p: SampleProfile, total_reads: int) -> str:
    rng = random.Random(f"vc:{p.sample_id}:{p.snps}")
    rows: list[tuple] = [
        ("VARIANT CALLER SUMMARY", "", "Number of samples", 1),
        ("VARIANT CALLER SUMMARY", "", "Reads Processed", total_reads),
        ("VARIANT CALLER SUMMARY", "", "Child Sample", "NA"),
    ]
    if p.version_tuple < (4, 0, 0):  # DRAGEN 3.x also reports the calls before filtering
        pre = _variant_rows(p, round(p.snps * 1.06), round(p.indels * 1.09), p.ti_tv - 0.06,
                            p.het_hom + 0.08, random.Random(f"pre:{p.sample_id}"))
        rows += [("VARIANT CALLER PREFILTER", p.sample_id, *r) for r in pre]
    post = _variant_rows(p, p.snps, p.indels, p.ti_tv, p.het_hom, rng)
    post += [("Percent Callability", "NA"), ("Percent Autosome Callability", "NA")]
    rows += [("VARIANT CALLER POSTFILTER", p.sample_id, *r) for r in post]
    return _lines(rows)


def _time(p: SampleProfile) -> str:
    total = p.total_runtime_s
    rng = random.Random(f"time:{p.sample_id}:{total}")
    if p.workflow == RECALL:
        steps = [("Time loading reference", rng.uniform(25, 60)),
                 ("Time DRAGStr calibration", rng.uniform(35, 60)),
                 ("Time partial reconfiguration", rng.uniform(3, 4.5)),
                 ("Time variant calling", total * rng.uniform(0.86, 0.9))]
    else:
        # the pipeline streams: mapping, sorting and calling overlap, so steps do not add up
        # (T_SRR7890936: aligning 43 %, sorting 56 %, calling 56 % of the total)
        steps = [("Time loading reference", rng.uniform(25, 60)),
                 ("Time aligning reads", total * rng.uniform(0.41, 0.45)),
                 ("Time sorting and marking duplicates", total * rng.uniform(0.54, 0.57)),
                 ("Time DRAGStr calibration", rng.uniform(35, 60)),
                 ("Time saving map/align output", total * rng.uniform(0.55, 0.58)),
                 ("Time partial reconfiguration", rng.uniform(3, 4.5)),
                 ("Time variant calling", total * rng.uniform(0.55, 0.58)),
                 ("Time partitioning", total * rng.uniform(0.41, 0.45))]
    steps.append(("Total runtime", total))
    return _lines([("RUN TIME", "", name, _hms(s), f"{round(s, 3):.2f}") for name, s in steps])


def _replay(p: SampleProfile) -> str:
    tokens = shlex.split(p.command_line) if p.command_line else []
    config = {"enable-deterministic-sort": "true", "enable-vcf-indexing": "true",
              "fastq-offset": "33", "vc-sample-name": p.sample_id}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
            config[tok[2:]] = tokens[i + 1]
            i += 2
            continue
        i += 1
    replay = {
        "command_line": p.command_line,
        "dragen_config": [{"name": k, "value": v} for k, v in sorted(config.items())],
        "inputs": [{"type": t, "path": path, "size_in_bytes": str(size)}
                   for t, path, size in p.inputs],
        "system": {"dragen_version": p.dragen_version, "nodename": p.nodename,
                   "kernel_release": "3.10.0-1160.118.1.el7.x86_64"},
    }
    # DRAGEN escapes slashes in replay.json (valid JSON, as in T_SRR7890936-replay.json)
    return json.dumps(replay, indent=4).replace("/", "\\/") + "\n"


# GRCh38 primary contig lengths (UCSC hg38 chrom.sizes), for the per-contig coverage file.
GRCH38_PRIMARY = {
    "chr1": 248_956_422, "chr2": 242_193_529, "chr3": 198_295_559, "chr4": 190_214_555,
    "chr5": 181_538_259, "chr6": 170_805_979, "chr7": 159_345_973, "chr8": 145_138_636,
    "chr9": 138_394_717, "chr10": 133_797_422, "chr11": 135_086_622, "chr12": 133_275_309,
    "chr13": 114_364_328, "chr14": 107_043_718, "chr15": 101_991_189, "chr16": 90_338_345,
    "chr17": 83_257_441, "chr18": 80_373_285, "chr19": 58_617_616, "chr20": 64_444_167,
    "chr21": 46_709_983, "chr22": 50_818_468, "chrX": 156_040_895, "chrY": 57_227_415,
    "chrM": 16_569,
}
FINE_HIST_MAX = 1000  # the last bin is "1000+", as in TEST.wgs_fine_hist.csv


def _fine_hist(p: SampleProfile) -> str:
    """Genome positions per depth (``Depth,Overall``): the same depth model as the coverage
    metrics, so its share at >= 20x is the file's "PCT of genome with coverage [20x: inf)"."""
    cov = _coverage_values(p)
    covered = 1 - p.dark_genome_frac
    sf = _depth_sf(cov["genome"] / covered, p.dispersion, p.hard_frac, FINE_HIST_MAX + 1)
    total = GENOME_BASES
    counts = [round(total * (1 - covered * sf[1]))]
    counts += [round(total * covered * (sf[k] - sf[k + 1])) for k in range(1, FINE_HIST_MAX)]
    counts.append(round(total * covered * sf[FINE_HIST_MAX]))
    rows = [("Depth", "Overall")] + [(k, n) for k, n in enumerate(counts[:-1])]
    return _lines([*rows, (f"{FINE_HIST_MAX}+", counts[-1])])


def _fragment_hist(p: SampleProfile) -> str:
    """Read pairs per fragment length, around the insert median with its spread and a longer
    right tail (``#Sample:`` then ``FragmentLength,Count``, as in TEST.fragment_length_hist.csv)."""
    pairs = int(p.sequenced_coverage_x * GENOME_BASES / p.read_length) // 2 * p.mapped_frac
    lo, hi = max(1, int(p.insert_median_bp - 4 * p.insert_sd_bp)), int(
        p.insert_median_bp + 7 * p.insert_sd_bp)

    def density(x: int) -> float:
        sd = p.insert_sd_bp * (1.0 if x <= p.insert_median_bp else 1.3)  # the long right tail
        return math.exp(-0.5 * ((x - p.insert_median_bp) / sd) ** 2)

    weights = {x: density(x) for x in range(lo, hi + 1)}
    scale = pairs / (sum(weights.values()) or 1.0)
    rows = [("FragmentLength", "Count")] + [(x, round(w * scale)) for x, w in weights.items()]
    return f"#Sample: {p.sample_id}\n" + _lines(rows)


def _contig_cov(p: SampleProfile) -> str:
    """Aligned bases and mean depth per primary contig and chrM, then the autosomal summary:
    chrX and chrY follow the sex ploidy, chrM the mitochondrial copies."""
    cov = _coverage_values(p)
    rng = random.Random(f"contigs:{p.sample_id}:{p.sequenced_coverage_x}")
    depth = {"chrX": cov["x"], "chrY": cov["y"], "chrM": cov["auto"] * p.mito_copies}
    rows, auto_bases, auto_length = [], 0, 0
    for contig, length in GRCH38_PRIMARY.items():
        # autosomes vary a little around their mean; X, Y and M are the coverage file's values
        mean = depth[contig] if contig in depth else cov["auto"] * rng.uniform(0.97, 1.03)
        aligned = round(mean * length)
        rows.append((contig, aligned, f"{mean:.6g}"))
        if contig not in depth:
            auto_bases, auto_length = auto_bases + aligned, auto_length + length
    rows.append(("Autosomal regions ", auto_bases, f"{auto_bases / auto_length:.6g}"))
    return _lines(rows)


def render_metrics(sample_id: str, profile: SampleProfile) -> dict[str, str]:
    """The DRAGEN output files of one germline run: file name -> text."""
    if profile.sample_id != sample_id:
        raise ValueError(f"profile is for {profile.sample_id!r}, not {sample_id!r}")
    mapping = _mapping(profile)
    coverage, overall = _coverage(profile)
    total_reads = int(mapping.split(",", 4)[3])
    return {
        f"{sample_id}.mapping_metrics.csv": mapping,
        f"{sample_id}.wgs_coverage_metrics.csv": coverage,
        f"{sample_id}.wgs_overall_mean_cov.csv": overall,
        f"{sample_id}.vc_metrics.csv": _vc(profile, total_reads),
        f"{sample_id}.time_metrics.csv": _time(profile),
        f"{sample_id}.ploidy_estimation_metrics.csv": _ploidy(profile),
        f"{sample_id}.wgs_fine_hist.csv": _fine_hist(profile),
        f"{sample_id}.fragment_length_hist.csv": _fragment_hist(profile),
        f"{sample_id}.wgs_contig_mean_cov.csv": _contig_cov(profile),
        f"{sample_id}-replay.json": _replay(profile),
    }
