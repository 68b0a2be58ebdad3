"""Simulated hap.py results for reference samples, for demos and what-if validations.

A validation job runs DRAGEN on a GIAB reference sample and then hap.py against the truth set,
writing ``<sample>.summary.csv`` beside the DRAGEN metrics. The numbers here are drawn around
published accuracy of recent DRAGEN releases on GIAB v4.2.1 at 35x (SNP recall and precision about
0.997-0.999, indels a little lower; domain-anchors §2.2), with truth-set sizes of the order of
NIST v4.2.1's (about 3.3-3.6 M SNVs and 0.5-0.6 M indels per sample). A release can carry an
effect (a shift of recall or precision) so a demo can show a regression being caught.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

GIAB_SAMPLES = ("HG001", "HG002", "HG003", "HG004", "HG005", "HG006", "HG007")
_GIAB = re.compile(r"^HG00[1-7]$")
# Approximate truth-set sizes (SNPs, indels) in confident regions; order of magnitude of v4.2.1.
_TRUTH = {"HG001": (3_290_000, 520_000), "HG002": (3_365_000, 525_000),
          "HG003": (3_330_000, 515_000), "HG004": (3_345_000, 520_000),
          "HG005": (3_160_000, 480_000), "HG006": (3_250_000, 500_000),
          "HG007": (3_240_000, 495_000)}
HEADER = ("Type,Filter,TRUTH.TOTAL,TRUTH.TP,TRUTH.FN,QUERY.TOTAL,QUERY.FP,QUERY.UNK,FP.gt,FP.al,"
          "METRIC.Recall,METRIC.Precision,METRIC.Frac_NA,METRIC.F1_Score,TRUTH.TOTAL.TiTv_ratio,"
          "QUERY.TOTAL.TiTv_ratio,TRUTH.TOTAL.het_hom_ratio,QUERY.TOTAL.het_hom_ratio")


@dataclass(frozen=True, slots=True)
class HappyEffect:
    """How a release moves accuracy against the baseline model (added to recall/precision)."""

    snp_recall: float = 0.0
    snp_precision: float = 0.0
    indel_recall: float = 0.0
    indel_precision: float = 0.0


# The model's PASS accuracy with no effect: (recall, precision) per type.
_BASE = {"SNP": (0.9978, 0.9991), "INDEL": (0.9964, 0.9972)}


def is_reference_sample(sample_id: str) -> bool:
    return bool(_GIAB.match(sample_id))


def summary_csv(sample_id: str, release: str, *, seed: int = 0,
                effect: HappyEffect = HappyEffect()) -> str:
    """A hap.py ``summary.csv`` for one reference sample under one release (deterministic)."""
    rng = random.Random(f"happy:{seed}:{sample_id}:{release}")
    truth = dict(zip(("SNP", "INDEL"), _TRUTH.get(sample_id, (3_300_000, 510_000)), strict=True))
    shift = {"SNP": (effect.snp_recall, effect.snp_precision),
             "INDEL": (effect.indel_recall, effect.indel_precision)}
    lines = [HEADER]
    for vtype in ("INDEL", "SNP"):
        r0, p0 = _BASE[vtype]
        recall = min(0.99999, r0 + shift[vtype][0] + rng.gauss(0, 0.00004))
        precision = min(0.99999, p0 + shift[vtype][1] + rng.gauss(0, 0.00003))
        titv = ("2.0" + str(rng.randrange(50, 99)), "2.0" + str(rng.randrange(50, 99))) \
            if vtype == "SNP" else ("", "")
        hethom_truth = 1.55 if vtype == "SNP" else 1.31
        for filt, r_adj, p_adj in (("ALL", 0.0008, -0.0035), ("PASS", 0.0, 0.0)):
            total = truth[vtype]
            tp = round(total * min(0.99999, recall + r_adj))
            fn = total - tp
            prec = min(0.99999, precision + p_adj)
            fp = round(tp * (1 - prec) / prec)
            unk = round((tp + fp) * rng.uniform(0.08, 0.12))
            q_total = tp + fp + unk
            rec, pre = tp / (tp + fn), tp / (tp + fp)
            f1 = 2 * rec * pre / (rec + pre)
            fp_gt, fp_al = round(fp * rng.uniform(0.2, 0.35)), round(fp * rng.uniform(0.05, 0.15))
            lines.append(
                f"{vtype},{filt},{total},{tp},{fn},{q_total},{fp},{unk},{fp_gt},{fp_al},"
                f"{rec:.6f},{pre:.6f},{unk / q_total:.6f},{f1:.6f},{titv[0]},{titv[1]},"
                f"{hethom_truth + rng.uniform(-0.02, 0.02):.6f},"
                f"{hethom_truth + rng.uniform(-0.05, 0.05):.6f}")
    return "\n".join(lines) + "\n"


def happy_outputs(effects: Mapping[str, HappyEffect] | None = None, *, seed: int = 0
                  ) -> Callable[[Mapping[str, str]], dict[str, str]]:
    """An extra-outputs hook for the simulated executor: job tags -> hap.py files to write.

    Reference samples (HG001–HG007) get ``<sample>.summary.csv``; other samples nothing.
    """
    effects = dict(effects or {})

    def outputs(tags: Mapping[str, str]) -> dict[str, str]:
        sample, release = tags.get("sample_id", ""), tags.get("pipeline_release", "")
        if not is_reference_sample(sample):
            return {}
        effect = effects.get(release, HappyEffect())
        return {f"{sample}.summary.csv": summary_csv(sample, release, seed=seed, effect=effect)}

    return outputs
