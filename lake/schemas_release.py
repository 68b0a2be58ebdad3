"""Tables for release validation (registered into lake.schemas).

A pipeline release (a DRAGEN version plus its configuration and reference, named by
``pipeline_release``) is validated on reference samples before it runs production samples:

- ``happy_metrics``: hap.py's accuracy against a truth set, one row per line of ``summary.csv`` or
  ``extended.csv`` (variant type × filter, and subtype × subset × genotype in the extended file),
  for one sample under one release. The counts and metrics hap.py writes are typed columns; every
  other column of the file is kept as text in ``other_values``, so no value is lost.
- ``release_validations``: one row per check of one validation of a release against its baseline
  (and one ``overall`` row with the verdict), like ``qc_results`` for samples.
"""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import TS, _f, _spec, register

HAPPY_METRICS = register(
    _spec(
        "happy_metrics",
        "hap.py accuracy of one reference sample under one pipeline release: one row per line of "
        "its summary.csv or extended.csv.",
        key=("pipeline_release", "sample_id", "variant_type", "filter", "subtype", "subset",
             "genotype"),
        time_column="loaded_at",
        order_by="loaded_at",
        # A corrected file is a new version that wins; the old one stays auditable. Loading the
        # same line again (same digest) adds nothing, whenever it is loaded.
        version="content_digest",
        key_spans_months=True,
        fields=[
            _f("pipeline_release", pa.string(), "Release the sample was analysed with",
               nullable=False),
            _f("sample_id", pa.string(), "Reference sample, e.g. HG002", nullable=False),
            _f("run_id", pa.string(), "Run that produced the calls, when known"),
            _f("variant_type", pa.string(), "SNP | INDEL (hap.py Type)", nullable=False),
            _f("filter", pa.string(), "ALL | PASS (hap.py Filter)", nullable=False),
            _f("subtype", pa.string(), "hap.py Subtype (ti, tv, I1_5, …); * in summary.csv",
               nullable=False),
            _f("subset", pa.string(), "Stratification (hap.py Subset); * for the whole genome",
               nullable=False),
            _f("genotype", pa.string(), "hap.py Genotype (het, homalt, hetalt); * for all",
               nullable=False),
            _f("truth_total", pa.int64(), "TRUTH.TOTAL: variants in the truth set"),
            _f("truth_tp", pa.int64(), "TRUTH.TP: truth variants called"),
            _f("truth_fn", pa.int64(), "TRUTH.FN: truth variants missed"),
            _f("query_total", pa.int64(), "QUERY.TOTAL: calls"),
            _f("query_fp", pa.int64(), "QUERY.FP: calls not in the truth set"),
            _f("query_unk", pa.int64(), "QUERY.UNK: calls outside the confident regions"),
            _f("fp_gt", pa.int64(), "FP.gt: false positives with a genotype mismatch"),
            _f("fp_al", pa.int64(), "FP.al: false positives with an allele mismatch"),
            _f("recall", pa.float64(), "METRIC.Recall = TP / (TP + FN)"),
            _f("precision", pa.float64(), "METRIC.Precision = TP / (TP + FP)"),
            _f("frac_na", pa.float64(), "METRIC.Frac_NA = UNK / QUERY.TOTAL"),
            _f("f1_score", pa.float64(), "METRIC.F1_Score = 2PR / (P + R)"),
            _f("truth_ti_tv_ratio", pa.float64(), "TRUTH.TOTAL.TiTv_ratio"),
            _f("query_ti_tv_ratio", pa.float64(), "QUERY.TOTAL.TiTv_ratio"),
            _f("truth_het_hom_ratio", pa.float64(), "TRUTH.TOTAL.het_hom_ratio"),
            _f("query_het_hom_ratio", pa.float64(), "QUERY.TOTAL.het_hom_ratio"),
            _f("other_values", pa.map_(pa.string(), pa.string()),
               "Every other column of the line, as written"),
            _f("truth_set", pa.string(), "Truth set the calls were compared with, when given"),
            _f("source_file", pa.string(), "The file the row came from", nullable=False),
            _f("line", pa.int32(), "Line number in the file", nullable=False),
            _f("loaded_at", TS, "When the file was loaded (partition time)", nullable=False),
            _f("content_digest", pa.string(), "Digest of the line as written, with its release, "
               "sample, run and truth set", nullable=False),
        ],
    )
)

RELEASE_VALIDATIONS = register(
    _spec(
        "release_validations",
        "One row per check of one validation of a pipeline release against its baseline, and one "
        "'overall' row per validation with the verdict.",
        key=("pipeline_release", "baseline_release", "check_id", "sample_id"),
        time_column="evaluated_at",
        order_by="evaluated_at",
        version="evaluated_at",  # a re-validation records a new verdict that wins
        key_spans_months=True,
        fields=[
            _f("validation_id", pa.string(), "One validation run (release, baseline, time)",
               nullable=False),
            _f("pipeline_release", pa.string(), "Release validated", nullable=False),
            _f("baseline_release", pa.string(), "Release it was compared with ('' for none)",
               nullable=False),
            _f("check_id", pa.string(), "Check name, or 'overall'", nullable=False),
            _f("sample_id", pa.string(), "Reference sample, or '*' for a cohort check",
               nullable=False),
            _f("metric", pa.string(), "Metric checked, e.g. snp_pass_f1"),
            _f("comparison", pa.string(), "absolute | delta | relative_delta | median_shift"),
            _f("observed_value", pa.float64(), "The release's value (or the delta checked)"),
            _f("baseline_value", pa.float64(), "The baseline's value"),
            _f("threshold", pa.string(), "The rule, readable, e.g. '>= -0.001'"),
            _f("passed", pa.bool_(), "Whether the check passed", nullable=False),
            _f("severity", pa.string(), "fail | warn"),
            _f("verdict", pa.string(), "pass | warn | fail", nullable=False),
            _f("note", pa.string(), "Why, for failed or missing checks; the summary for 'overall'"),
            _f("suite_version", pa.string(), "Version of the release thresholds used"),
            _f("report_uri", pa.string(), "The HTML report of this validation"),
            _f("evaluated_at", TS, "When", nullable=False),
        ],
    )
)
