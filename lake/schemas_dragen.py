"""Tables for the DRAGEN metrics that are curves, not single values (registered into lake.schemas).

Single-value metrics go to ``qc_metrics`` (long form). Two kinds of DRAGEN output are different:

- **Histograms** (``*_fine_hist``, ``*_hist``, ``fragment_length_hist``, the ``fastqc_metrics``
  distributions) are thousands of points per sample that people draw as curves, one per series,
  over a numeric x axis. Kept as ``qc_histograms``: one row per bin with the x range as numbers
  (``x``, ``x_end``) beside the label as written, so a chart is a ``SELECT x, value … WHERE
  histogram = …`` with no string parsing, and ``qc_metrics`` stays small enough to pivot.
- **Per-contig coverage** (``*_contig_mean_cov``) has two numbers per contig (aligned bases and
  mean depth) that are read together (sex checks, chrX/chrY against autosomes), so it gets typed
  columns in ``qc_contig_coverage``.
"""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import TS, _f, _spec, register

_RUN = [
    _f("sample_id", pa.string(), "Sample the rows belong to", nullable=False),
    _f("run_id", pa.string(), "Run the rows belong to", nullable=False),
    _f("run_at", TS, "When the run finished (partition time)", nullable=False),
    _f("source_file", pa.string(), "File name the rows came from", nullable=False),
    _f("file_type", pa.string(), "wgs_fine_hist | fragment_length_hist | wgs_contig_mean_cov | …"),
    _f("line", pa.int32(), "Line number in the source file"),
    _f("phenotype", pa.string(), "tumor | normal | null (file-name suffix, or the replay's names)"),
]

QC_HISTOGRAMS = register(
    _spec(
        "qc_histograms",
        "DRAGEN histograms in long form (coverage depth, binned coverage, fragment length, FastQC "
        "distributions): one row per bin.",
        key=("run_id", "source_file", "histogram", "series", "label"),
        time_column="run_at",
        order_by="recorded_at",
        # A corrected file is a new version of its rows that wins; the same content loaded
        # again writes nothing. The replaced version stays in the raw_ view for audit.
        version="*",
        fields=[
            *_RUN,
            _f(
                "histogram",
                pa.string(),
                "coverage_depth | coverage_depth_binned | fragment_length | fastqc_<section>",
                nullable=False,
            ),
            _f(
                "section",
                pa.string(),
                "Section as written (fastqc_metrics), '' if the file has none",
                nullable=False,
            ),
            _f(
                "read_group",
                pa.string(),
                "Second column as written (fastqc: Read1/Read2), '' if none",
                nullable=False,
            ),
            _f(
                "series",
                pa.string(),
                "One curve of the chart: column header, sample name, or read "
                "plus base/quantile/adapter",
                nullable=False,
            ),
            _f(
                "label",
                pa.string(),
                "The bin as written, e.g. 1000+, [100x:inf), ReadPos 3 A Bases",
                nullable=False,
            ),
            _f("x", pa.float64(), "Bin start (depth x, length bp, read position, quality, GC %)"),
            _f(
                "x_end",
                pa.float64(),
                "Bin end, exclusive; inf for an open last bin; null for a point",
            ),
            _f("value", pa.float64(), "Count or percent in the bin; null when not a number"),
            _f("value_text", pa.string(), "The raw value text when it is not a number (NA, empty)"),
            _f("unit", pa.string(), "positions | pct | fragments | reads | bases | quality"),
            _f("dragen_version", pa.string(), "DRAGEN version, when known"),
        ],
    )
)

QC_CONTIG_COVERAGE = register(
    _spec(
        "qc_contig_coverage",
        "DRAGEN mean coverage per contig (wgs/target_bed contig_mean_cov), one row per contig.",
        key=("run_id", "source_file", "contig"),
        time_column="run_at",
        order_by="recorded_at",
        # A corrected file is a new version of its rows that wins; the same content loaded
        # again writes nothing. The replaced version stays in the raw_ view for audit.
        version="*",
        fields=[
            *_RUN,
            _f(
                "contig",
                pa.string(),
                "Contig name as written (the summary row is 'Autosomal regions ')",
                nullable=False,
            ),
            _f(
                "contig_kind",
                pa.string(),
                "primary | mito | alt | random | unplaced | decoy | hla | other | summary",
            ),
            _f("aligned_bases", pa.int64(), "Bases aligned to the contig"),
            _f("mean_coverage_x", pa.float64(), "Mean depth over the contig"),
            _f("dragen_version", pa.string(), "DRAGEN version, when known"),
        ],
    )
)
