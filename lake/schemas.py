"""The lake's tables: Arrow schemas, natural keys and the time column each is partitioned by.

Conventions (DESIGN.md): snake_case, the unit in the name, UTC timestamps ending in ``_at``,
ids ending in ``_id``, ``schema_version`` on every row. Schemas change additively only: add a
column at the end and bump ``SCHEMA_VERSION``; never rename, retype or drop.

Every table is Hive-partitioned by ``month=YYYY-MM`` of its ``time_column``: people ask by month.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

SCHEMA_VERSION = 1

TS = pa.timestamp("us", tz="UTC")

# The cost-allocation tags every job carries (Batch job tags, propagated to instances and volumes).
TAG_COLUMNS = (
    "project",
    "sample_id",
    "run_id",
    "workflow",
    "pipeline_release",
    "requested_by",
    "cost_centre",
)


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One lake table: its schema, the columns that identify a row, and its partition time."""

    name: str
    doc: str
    schema: pa.Schema
    key: tuple[str, ...]
    time_column: str
    # When a key repeats, the row with the largest value here wins in the deduplicating views.
    order_by: str = "recorded_at"
    # A column whose new value makes a new version of a row (a re-evaluation): writing the same
    # rows again is still a no-op, but rows with a new value here are written, and win.
    # "*" means any change of content (every column but recorded_at and schema_version).
    version: str | None = None
    # False when every row of a key falls in the same month (the time column is a fact of the
    # row): views then deduplicate within each month, so a month filter prunes files. True
    # when the time column is when seqledger processed the row (a re-gate, a re-quarantine).
    key_spans_months: bool = False
    # Columns that decide, largest first, between rows of a key with the same ``order_by``
    # before ``recorded_at`` does: the winner then never depends on the order rows were written.
    tie_break: tuple[str, ...] = ()

    @property
    def file_key(self) -> tuple[str, ...]:
        """The columns a data file is named by."""
        return (*self.key, self.version) if self.version else self.key

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _spec(
    name: str,
    doc: str,
    key: tuple[str, ...],
    time_column: str,
    fields: list[pa.Field],
    order_by: str = "recorded_at",
    version: str | None = None,
    key_spans_months: bool = False,
    tie_break: tuple[str, ...] = (),
) -> TableSpec:
    common = [
        _f("schema_version", pa.int16(), "Schema version of the row", nullable=False),
        _f("recorded_at", TS, "When seqledger wrote the row (UTC)", nullable=False),
    ]
    schema = pa.schema(fields + common, metadata={"doc": doc})
    for column in (*key, time_column):
        if column not in schema.names:
            raise ValueError(f"{name}: key or time column {column!r} is not in the schema")
    return TableSpec(name, doc, schema, key, time_column, order_by, version, key_spans_months,
                     tie_break)


_TAGS = [
    _f("project", pa.string(), "Cost-allocation tag: project"),
    _f("sample_id", pa.string(), "Sample identifier"),
    _f("run_id", pa.string(), "Run identifier: one analysis of one sample"),
    _f("workflow", pa.string(), "Workflow name, e.g. dragen-germline-wgs"),
    _f("pipeline_release", pa.string(), "Pipeline release (DRAGEN version and config)"),
    _f("requested_by", pa.string(), "Cost-allocation tag: user who asked for the work"),
    _f("cost_centre", pa.string(), "Cost-allocation tag: cost centre billed"),
]

ARRIVALS = _spec(
    "arrivals",
    "One row per object seen arriving in the input location, classified.",
    key=("object_uri", "etag"),
    time_column="event_at",
    order_by="event_at",
    # One object reported through several envelopes: the same delivery wins in any order.
    tie_break=("event_id", "envelope"),
    fields=[
        _f("arrival_id", pa.string(), "Hash of object_uri and etag", nullable=False),
        _f(
            "object_uri",
            pa.string(),
            "s3://bucket/key or file:// path of the object",
            nullable=False,
        ),
        _f("bucket", pa.string(), "Bucket (or input folder) name"),
        _f("object_key", pa.string(), "Object key, URL-decoded"),
        _f("etag", pa.string(), "Object ETag (content hash for local files)", nullable=False),
        _f("size_bytes", pa.int64(), "Object size"),
        _f("event_at", TS, "When the object was created (from the event)", nullable=False),
        _f("event_id", pa.string(), "Id of the event that reported it"),
        _f(
            "envelope",
            pa.string(),
            "s3 | sns | sqs-sns | eventbridge | local (direct S3→SQS is s3)",
        ),
        _f("input_kind", pa.string(), "fastq | ora | bam | cram | sample_sheet | unknown"),
        _f("mate", pa.string(), "R1 | R2 for FASTQ/ORA pairs, else null"),
        _f("project", pa.string(), "Project parsed from the key"),
        _f("sample_id", pa.string(), "Sample parsed from the key"),
        _f("reason", pa.string(), "Why an object is unknown or ignored"),
        _f("lane", pa.string(), "Sequencing lane (L001…) when the name gives one"),
    ],
)

RUNS = _spec(
    "runs",
    "One row per status change of a run (one analysis of one sample). Latest row = current state.",
    key=("run_id", "status"),
    time_column="status_at",
    order_by="status_at",
    fields=[
        *_TAGS,
        _f("status", pa.string(), "DISPATCHED | RUNNING | SUCCEEDED | FAILED", nullable=False),
        _f("status_at", TS, "When the run reached this status", nullable=False),
        _f("input_kind", pa.string(), "fastq | ora | cram | bam"),
        _f("input_uris", pa.list_(pa.string()), "The objects the run reads"),
        _f("input_size_bytes", pa.int64(), "Total size of the inputs"),
        _f("input_bases", pa.int64(), "Sequenced bases in the inputs, when known"),
        _f("executor", pa.string(), "simulated | local | batch"),
        _f("reason", pa.string(), "Why the run failed, when it did"),
        _f("output_prefix", pa.string(), "Where the run's attempts write their outputs"),
    ],
)

JOB_ATTEMPTS = _spec(
    "job_attempts",
    "One row per state change of one attempt of one job. Never goes backwards.",
    key=("job_id", "attempt", "status"),
    time_column="status_at",
    order_by="status_at",
    fields=[
        *_TAGS,
        _f("job_id", pa.string(), "Batch job id (a new job per resubmission)", nullable=False),
        _f("job_name", pa.string(), "Batch job name"),
        _f("attempt", pa.int32(), "Attempt number of the run, from 1", nullable=False),
        _f(
            "status",
            pa.string(),
            "SUBMITTED | PENDING | RUNNABLE | STARTING | RUNNING | SUCCEEDED | FAILED",
            nullable=False,
        ),
        _f("status_at", TS, "When the attempt reached this status", nullable=False),
        _f(
            "status_reason",
            pa.string(),
            "Batch statusReason, e.g. Host EC2 (instance i-…) terminated.",
        ),
        _f("exit_code", pa.int32(), "Container exit code, null when Batch gives none"),
        _f("job_queue", pa.string(), "Queue the job was submitted to"),
        _f("capacity", pa.string(), "spot | on-demand"),
        _f("instance_type", pa.string(), "EC2 instance type"),
        _f("instance_id", pa.string(), "EC2 instance id"),
        _f("vcpus", pa.int32(), "vCPUs requested"),
        _f("memory_mib", pa.int32(), "Memory requested, MiB"),
        _f("started_at", TS, "Container start"),
        _f("stopped_at", TS, "Container stop"),
        _f("event_id", pa.string(), "Id of the event that reported the change"),
    ],
)

DECISIONS = _spec(
    "decisions",
    "What the retry policy decided after each terminal attempt, and why.",
    key=("job_id", "attempt"),
    time_column="decided_at",
    order_by="decided_at",
    fields=[
        *_TAGS,
        _f("job_id", pa.string(), "The attempt's job", nullable=False),
        _f("attempt", pa.int32(), "The attempt decided on", nullable=False),
        _f("decided_at", TS, "When", nullable=False),
        _f(
            "failure_kind",
            pa.string(),
            "none | spot_reclaim | capacity | application_error | infrastructure | timeout "
            "| duplicate",
        ),
        _f(
            "action",
            pa.string(),
            "complete | retry | retry_on_demand | give_up | terminate_duplicate (a second job "
            "for an attempt that has one, stopped)",
            nullable=False,
        ),
        _f("next_capacity", pa.string(), "spot | on-demand for a retry"),
        _f("reason", pa.string(), "Human-readable reason for the decision"),
    ],
)

QC_METRICS = _spec(
    "qc_metrics",
    "DRAGEN QC metrics in long form, one row per metric line of a metric file.",
    key=("run_id", "source_file", "section", "read_group", "metric_name"),
    time_column="run_at",
    order_by="recorded_at",
    # A corrected file is a new version of its rows that wins; the same content loaded
    # again writes nothing. The replaced version stays in the raw_ view for audit.
    version="*",
    fields=[
        _f("sample_id", pa.string(), "Sample the metric belongs to", nullable=False),
        _f("run_id", pa.string(), "Run the metric belongs to", nullable=False),
        _f("run_at", TS, "When the run finished (partition time)", nullable=False),
        _f("source_file", pa.string(), "File name the metric came from", nullable=False),
        _f("file_type", pa.string(), "mapping_metrics | wgs_coverage_metrics | vc_metrics | …"),
        _f("line", pa.int32(), "Line number in the source file"),
        _f(
            "section",
            pa.string(),
            "Section as written, e.g. MAPPING/ALIGNING SUMMARY",
            nullable=False,
        ),
        _f(
            "read_group",
            pa.string(),
            "Second column as written: read group or sample, '' if none",
            nullable=False,
        ),
        _f("phenotype", pa.string(), "tumor | normal | null"),
        _f("metric_name", pa.string(), "Metric name exactly as written", nullable=False),
        _f("metric_id", pa.string(), "Normalized id, stable across DRAGEN versions"),
        _f("value", pa.float64(), "Numeric value (count, ratio, seconds); null for NA/empty/text"),
        _f("value_pct", pa.float64(), "The percent DRAGEN gives beside the value, ×100"),
        _f("value_text", pa.string(), "The raw value text"),
        _f("unit", pa.string(), "count | pct | x | bp | s | ratio | text"),
        _f("dragen_version", pa.string(), "DRAGEN version, when known"),
        _f("ga4gh_id", pa.string(), "GA4GH WGS QC id (ga4gh/quality-control-wgs), where defined"),
    ],
)

QC_RESULTS = _spec(
    "qc_results",
    "One row per QC check of a sample (and one 'overall' row with the verdict).",
    key=("run_id", "suite", "check_id"),
    time_column="evaluated_at",
    order_by="evaluated_at",
    version="evaluated_at",  # re-gating a run (new thresholds) records a new verdict that wins
    key_spans_months=True,
    fields=[
        _f("sample_id", pa.string(), "Sample checked", nullable=False),
        _f("run_id", pa.string(), "Run checked", nullable=False),
        _f("project", pa.string(), "Project of the sample"),
        _f("suite", pa.string(), "Great Expectations suite name", nullable=False),
        _f("suite_version", pa.string(), "Version of the thresholds used"),
        _f("check_id", pa.string(), "Check name, or 'overall'", nullable=False),
        _f("metric_id", pa.string(), "Metric checked"),
        _f("observed_value", pa.float64(), "Value seen"),
        _f("observed_text", pa.string(), "Value seen, for text metrics"),
        _f("threshold", pa.string(), "The rule, readable, e.g. '>= 30'"),
        _f("passed", pa.bool_(), "Whether the check passed", nullable=False),
        _f("severity", pa.string(), "fail | warn"),
        _f("verdict", pa.string(), "pass | fail | review (for 'overall' rows and tiers)"),
        _f("evaluated_at", TS, "When", nullable=False),
        _f("pipeline_release", pa.string(), "Pipeline release of the run judged"),
        _f("dragen_version", pa.string(), "DRAGEN version of the run judged (from its replay)"),
    ],
)

COSTS = _spec(
    "costs",
    "Estimated cost, one row per cost component of an attempt or run.",
    key=("job_id", "attempt", "component"),
    time_column="usage_start_at",
    order_by="recorded_at",
    # A re-estimate with corrected prices is a new version that wins; the same estimate again
    # writes nothing. The replaced version stays in raw_costs for audit.
    version="*",
    fields=[
        *_TAGS,
        _f("job_id", pa.string(), "Job, or the run id for run-level components", nullable=False),
        _f("attempt", pa.int32(), "Attempt number; 0 for run-level components", nullable=False),
        _f("component", pa.string(), "compute | licence | scratch_storage | …", nullable=False),
        _f("usage_start_at", TS, "Start of the priced usage", nullable=False),
        _f("usage_end_at", TS, "End of the priced usage"),
        _f("quantity", pa.float64(), "Amount priced, in `quantity_unit`"),
        _f("quantity_unit", pa.string(), "s | GB | GB-month | …"),
        _f("rate_usd", pa.float64(), "Price per unit"),
        _f("cost_usd", pa.float64(), "Estimated cost; null when unpriced"),
        _f("capacity", pa.string(), "spot | on-demand"),
        _f("instance_type", pa.string(), "EC2 instance type"),
        _f("price_source", pa.string(), "Where the price came from"),
        _f("price_status", pa.string(), "list | approximate | unpriced"),
    ],
)

QUARANTINE = _spec(
    "quarantine",
    "Inputs that could not be processed, with the reason. Nothing is silently dropped.",
    key=("quarantine_id",),
    time_column="quarantined_at",
    key_spans_months=True,
    order_by="quarantined_at",
    fields=[
        _f("quarantine_id", pa.string(), "Hash of stage, source, line and reason", nullable=False),
        _f("quarantined_at", TS, "When", nullable=False),
        _f("stage", pa.string(), "ingest.event | ingest.dragen | ingest.cur | …", nullable=False),
        _f("source", pa.string(), "The input: file path, URI or event id", nullable=False),
        _f("line", pa.int32(), "Line in the source, when known"),
        _f("error_type", pa.string(), "Error class"),
        _f("reason", pa.string(), "Why it could not be processed", nullable=False),
        _f("retryable", pa.bool_(), "Whether retrying can help"),
        _f("payload", pa.string(), "The offending text, truncated to 4 KiB"),
    ],
)

_CORE = (ARRIVALS, RUNS, JOB_ATTEMPTS, DECISIONS, QC_METRICS, QC_RESULTS, COSTS, QUARANTINE)
TABLES: dict[str, TableSpec] = {t.name: t for t in _CORE}


def register(spec: TableSpec) -> TableSpec:
    """Add a table defined elsewhere in ``lake`` (keeps one registry for DDL and docs).

    The registry's order is the core tables, then the registered ones by name: never the order
    in which modules happened to be imported (which a test run or a command changes).
    """
    if spec.name in TABLES and TABLES[spec.name] != spec:
        raise ValueError(f"table {spec.name!r} is already defined differently")
    core = {t.name for t in _CORE}
    added = {name: t for name, t in TABLES.items() if name not in core}
    added[spec.name] = spec
    TABLES.clear()
    TABLES.update({t.name: t for t in _CORE})
    TABLES.update(sorted(added.items()))
    return spec


def table(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown lake table {name!r}; known: {', '.join(sorted(TABLES))}") from None


# Tables defined beside this module register themselves on import; importing them here keeps one
# registry (TABLES) for the store, the views, the Glue catalog and the docs.
from lake import (  # noqa: E402, F401
    schemas_cost,
    schemas_dragen,
    schemas_release,
    schemas_rollup,
    schemas_storage,
)
