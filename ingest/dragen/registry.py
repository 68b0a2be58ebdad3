"""Which parser reads which file: by name pattern first, then by content for unknown ``.csv`` names.

File names follow ``<prefix>.<family>[_tumor|_normal].<ext>`` (MultiQC's DRAGEN patterns,
FORMAT-NOTES). The family's parser checks the content; a name that matches nothing is recognised
from its first lines (a SECTION-shaped CSV, a ``Depth,`` histogram, a ``#Sample:`` block), so a
DRAGEN-looking file nobody has a name for is still loaded, its lines kept as raw rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.dragen.contig_coverage import parse_contig_mean_cov
from ingest.dragen.fastqc import parse_fastqc
from ingest.dragen.histograms import parse_binned_hist, parse_fine_hist, parse_fragment_length_hist
from ingest.dragen.insert_stats import parse_insert_stats
from ingest.dragen.overall_mean_cov import parse_overall_mean_cov
from ingest.dragen.records import FileParse
from ingest.dragen.replay import parse_replay
from ingest.dragen.sections import looks_like_sections, parse_sections

Parser = Callable[..., FileParse]
_PH = r"(?:_(?P<phenotype>tumor|normal))?"
_SNIFF_CHARS = 2048


@dataclass(frozen=True, slots=True)
class Family:
    """A kind of DRAGEN output file: how to recognise its name and which parser reads it."""

    name: str
    pattern: re.Pattern[str]
    parser: Parser

    def match(self, file_name: str) -> tuple[str, str | None] | None:
        """(file_type, phenotype) when the name is one of this family's, else None."""
        m = self.pattern.search(file_name)
        if m is None:
            return None
        groups = m.groupdict()
        file_type = m.group("type")
        return file_type, groups.get("phenotype")


def _family(name: str, regex: str, parser: Parser) -> Family:
    return Family(name, re.compile(regex), parser)


def _simple(name: str, parser: Parser = parse_sections) -> Family:
    return _family(name, rf"\.(?P<type>{re.escape(name)})\.csv$", parser)


# Order matters: the first match wins (fine_hist and fragment_length_hist before the binned hist).
FAMILIES: tuple[Family, ...] = (
    _family("replay", r"(?:^|[-.])(?P<type>replay)\.json$", parse_replay),
    _simple("mapping_metrics"),
    _family("coverage_metrics", rf"\.(?P<type>[^.]+?_coverage_metrics){_PH}\.csv$", parse_sections),
    _family("overall_mean_cov", rf"\.(?P<type>[^.]+?_overall_mean_cov){_PH}\.csv$",
            parse_overall_mean_cov),
    _family("contig_mean_cov", rf"\.(?P<type>[^.]+?_contig_mean_cov){_PH}\.csv$",
            parse_contig_mean_cov),
    _family("fine_hist", rf"\.(?P<type>[^.]+?_fine_hist){_PH}\.csv$", parse_fine_hist),
    _family("fragment_length_hist", rf"\.(?P<type>fragment_length_hist){_PH}\.csv$",
            parse_fragment_length_hist),
    _family("hist", rf"\.(?P<type>[^.]+?_hist){_PH}\.csv$", parse_binned_hist),
    _simple("vc_metrics"),
    _simple("gvcf_metrics"),
    _simple("time_metrics"),
    _simple("ploidy_estimation_metrics"),
    _simple("trimmer_metrics"),
    _simple("fastqc_metrics", parse_fastqc),
    _simple("gc_metrics"),
    _simple("cnv_metrics"),
    _simple("sv_metrics"),
    _simple("roh_metrics"),
    _simple("vc_hethom_ratio_metrics"),
    _family("quant_metrics", r"\.(?P<type>quant[._]metrics)\.csv$", parse_sections),
    _family("insert_stats", r"\.(?P<type>insert-stats)\.tab$", parse_insert_stats),
)

# Files DRAGEN writes beside its metrics that hold no metrics: skipped, with this reason.
NOT_METRICS = {
    "bam_list.csv": "a list of the run's BAM files, not metrics",
    "streaming_log.csv": "DRAGEN's streaming log, not metrics",
}
METRIC_SUFFIXES = (".csv", ".tab", ".json")
_HAPPY = re.compile(r"(^|[._-])(summary|extended)\.csv$")  # hap.py's outputs beside DRAGEN's


@dataclass(frozen=True, slots=True)
class Recognised:
    """What a file is: its family, file type (``wgs_coverage_metrics``) and file-name phenotype."""

    family: str
    file_type: str
    phenotype: str | None
    parser: Parser


def recognise_name(file_name: str) -> Recognised | None:
    """The family a file name belongs to, or None."""
    for family in FAMILIES:
        hit = family.match(file_name)
        if hit is not None:
            return Recognised(family.name, hit[0], hit[1], family.parser)
    return None


def _generic_type(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0]
    return stem.split(".", 1)[1] if "." in stem else stem


def recognise(file_name: str, head: bytes) -> Recognised | str:
    """The family of a file from its name, else from its first bytes; or why it is skipped."""
    base = file_name.rsplit("/", 1)[-1]
    if base in NOT_METRICS:
        return NOT_METRICS[base]
    if _HAPPY.search(base):
        return "hap.py accuracy (loaded into happy_metrics by the release validation)"
    hit = recognise_name(base)
    if hit is not None:
        return hit
    if not base.endswith(".csv"):
        return "not a DRAGEN metric file name"
    text = head[:_SNIFF_CHARS].decode("utf-8", errors="replace").lstrip("\ufeff")
    first = next((line.rstrip("\r") for line in text.split("\n") if line.strip()), "")
    file_type = _generic_type(base)
    if looks_like_sections(first):
        return Recognised("dragen_metrics", file_type, None, parse_sections)
    if first.startswith("Depth,"):
        return Recognised("fine_hist", file_type, None, parse_fine_hist)
    if first.startswith("#Sample:"):
        return Recognised("fragment_length_hist", file_type, None, parse_fragment_length_hist)
    return "a .csv that is not in any DRAGEN metrics layout"
