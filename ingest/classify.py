"""What an arriving object is, from its key alone: an input, a sample sheet, or not an input.

The project and the sample folder come from the input layout (``ingest/layout.py``,
``SEQLEDGER_INPUT_LAYOUT``); by default ``[prefix/…/]<project>/[folders/…/]<sample>/<file>``
(``incoming/PRJ7/2024-05-01/NA12878/NA12878_S1_L001_R1_001.fastq.gz`` -> project ``PRJ7``, sample
``NA12878``). When the layout gives no sample folder, the sample comes from the file name, with
the sample number (``_S1``), lane (``_L001``), mate, chunk (``_001``) and extension stripped
(``incoming/NA12878_S1_L001_R1_001.fastq.gz`` -> sample ``NA12878``). An input whose key fits no
pattern of the layout is kind "unknown", with a reason naming the layout.

Inputs recognised (extensions case-insensitive):

* FASTQ ``.fastq.gz .fq.gz .fastq .fq`` and ORA ``.fastq.ora .fq.ora``, paired: the mate must be
  in the name, in one of the usual namings — Illumina ``S_S1_L001_R1_001``, ``S_S1_R1_001``,
  ``S_L001_R1``, ``S_R1``, ``S.R1``, ``S_1`` / ``S_2``, ``S.1``. Index reads (``_I1``) and FASTQ
  without a mate are not inputs (single-end runs are not supported).
* BAM ``.bam`` and CRAM ``.cram`` (re-analysis); their indexes ``.bai .crai`` are not inputs.
* Sample sheets: ``SampleSheet.csv`` or any ``.csv`` whose name contains "samplesheet"
  (also ``sample_sheet``, ``sample-sheet``). They get no project or sample: a sheet lists many.

Anything else is kind "unknown" with the reason, so it can be reported rather than dropped.
Unknown objects are of two sorts: routine non-inputs (checksums, indexes, READMEs, index reads)
and ``refused`` inputs — a file that is meant as an input but cannot be used (single-end FASTQ,
bzip2 FASTQ, a key that does not fit the layout). Only the latter are quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from ingest.layout import DEFAULT, LAYOUT_ENV, InputLayout
from ingest.records import Classified

# Illumina BCL Convert / bcl2fastq: <sample>_S<n>[_L<lane>]_<R1|R2|I1|I2>_<chunk>
_ILLUMINA = re.compile(r"^(?P<sample>.+?)_S\d+(?:_L(?P<lane>\d{3}))?_(?P<read>[RI]\d)_\d{3}$",
                       re.IGNORECASE)
# <sample>[_L<lane>][_.]<R1|R2|I1|I2>[_<chunk>]
_NAMED = re.compile(r"^(?P<sample>.*?)(?:_L(?P<lane>\d{3}))?[._](?P<read>[RI]\d)(?:_\d{3})?$",
                    re.IGNORECASE)
# <sample>[_L<lane>][_.]<1|2> (SRA / ENA style)
_NUMBERED = re.compile(r"^(?P<sample>.+?)(?:_L(?P<lane>\d{3}))?[._](?P<read>[12])$")
# the whole name is the mate (R1.fastq.gz in a sample folder)
_BARE = re.compile(r"^(?P<sample>)(?P<lane>)(?P<read>R[12])$", re.IGNORECASE)
_MATE_PATTERNS = (_ILLUMINA, _NAMED, _NUMBERED, _BARE)

_SAMPLE_NUMBER = re.compile(r"_S\d+$")
_FASTQ = re.compile(r"^(?P<stem>.+?)\.(?:fastq|fq)(?:\.(?P<comp>[a-z0-9]+))?$", re.IGNORECASE)
_SAMPLE_SHEET = re.compile(r"sample[_-]?sheet", re.IGNORECASE)

# Extensions that are known not to be inputs, and what they are (longest first).
_NOT_INPUTS: tuple[tuple[str, str], ...] = (
    (".bam.bai", "index file, not an input"),
    (".cram.crai", "index file, not an input"),
    (".bai", "index file, not an input"),
    (".crai", "index file, not an input"),
    (".csi", "index file, not an input"),
    (".tbi", "index file, not an input"),
    (".fai", "index file, not an input"),
    (".md5", "not a sequencing input: .md5 checksum"),
    (".md5sum", "not a sequencing input: .md5sum checksum"),
    (".sha256", "not a sequencing input: .sha256 checksum"),
    (".sha1", "not a sequencing input: .sha1 checksum"),
    (".vcf.gz", "not a sequencing input: VCF (an analysis output)"),
    (".vcf", "not a sequencing input: VCF (an analysis output)"),
    (".sam", "not a sequencing input: SAM text alignments (convert to BAM or CRAM)"),
    (".bcl", "not a sequencing input: raw BCL (convert to FASTQ first)"),
    (".cbcl", "not a sequencing input: raw BCL (convert to FASTQ first)"),
)


def classify(key: str, layout: InputLayout = DEFAULT,
             projects: Collection[str] = ()) -> Classified:
    """Kind, mate, lane, project and sample of the object at ``key`` (URL-decoded), or why not.

    ``projects`` are the registered project names: where the layout lets a key be read in
    several ways, the reading whose project is registered wins.
    """
    if not key:
        return Classified("unknown", reason="empty key")
    if key.endswith("/"):
        return Classified("unknown", reason="folder marker, not an object")
    name = [part for part in key.split("/") if part][-1]
    parts = layout.read(key, projects)
    project, folder_sample = (parts.project, parts.sample_id) if parts else (None, None)
    lower = name.lower()

    def unknown(reason: str, refused: bool = False) -> Classified:
        return Classified("unknown", project=project, sample_id=folder_sample, reason=reason,
                          refused=refused)

    def misfit(label: str) -> Classified:
        return unknown(f"{label} whose key does not fit the input layout "
                       f"{LAYOUT_ENV}={layout.text!r}", refused=True)

    if name.startswith("."):
        return unknown("hidden file, not an input")
    if lower.endswith(".csv") and _SAMPLE_SHEET.search(lower):
        # A sheet lists many samples; its folders name a run, not a project and sample.
        return Classified("sample_sheet")
    for ext, reason in _NOT_INPUTS:
        if lower.endswith(ext):
            return unknown(reason)
    if fastq := _FASTQ.match(name):
        comp = (fastq["comp"] or "").lower()
        if comp not in ("", "gz", "ora"):
            return unknown(f"FASTQ compressed with .{comp}, not supported (gzip or ORA only)",
                           refused=True)
        if parts is None:
            return misfit("ORA" if comp == "ora" else "FASTQ")
        return _paired(fastq["stem"], "ora" if comp == "ora" else "fastq", project, folder_sample,
                       unknown)
    for ext, kind in ((".bam", "bam"), (".cram", "cram")):
        if lower.endswith(ext):
            if parts is None:
                return misfit(kind.upper())
            # DRAGEN and most aligners name the file <sample>[.<anything>].bam
            sample = folder_sample or name.split(".", 1)[0]
            if not sample:
                return unknown(f"{kind.upper()} without a sample name", refused=True)
            return Classified(kind, project=project, sample_id=sample)
    if "." not in name.strip("."):
        return unknown("not a sequencing input: no file extension")
    return unknown(f"not a sequencing input: unrecognised extension .{name.rsplit('.', 1)[1]}")


def _paired(stem: str, kind: str, project: str | None, folder_sample: str | None,
            unknown: Callable[..., Classified]) -> Classified:
    label = "ORA" if kind == "ora" else "FASTQ"
    for pattern in _MATE_PATTERNS:
        if m := pattern.match(stem):
            break
    else:
        return unknown(f"{label} without a mate marker (R1/R2, _1/_2): single-end input is not "
                       "supported", True)
    read = m["read"].upper()
    if not read.startswith("R"):
        read = f"R{read}" if read in ("1", "2") else read
    if read not in ("R1", "R2"):
        what = "index read" if read.startswith("I") else "read"
        # index reads are routine beside the mates (BCL Convert writes them); R3 is not
        return unknown(f"{label} {what} {read}, not an R1/R2 mate", refused=what == "read")
    sample = folder_sample or _SAMPLE_NUMBER.sub("", m["sample"])
    if not sample:
        return unknown(f"{label} without a sample name (no sample folder, nothing before the mate)",
                       refused=True)
    lane = f"L{m['lane']}" if m["lane"] else None
    return Classified(kind, mate=read, project=project, sample_id=sample, lane=lane)
