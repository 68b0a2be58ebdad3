"""Summary tables: daily and monthly rollups of the facts for the questions asked every day.

Dashboards and reports read these instead of millions of fact rows. Each month of a rollup is
recomputed whole from the facts (``analytics.rollups``) and replaces the month's file, so
recomputing it again changes nothing. Every row carries ``source_digest``: a hash of the names of
the fact files it was computed from (file names are digests of their rows), which is how readers
tell a month that is current from one that facts have changed since.

A run or an attempt is counted on the UTC day of its latest state (``day_at``), the same state the
views ``run_outcomes`` and ``attempt_outcomes`` report.
"""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import TS, _f, _spec, register

_DAY = _f("day_at", TS, "UTC midnight of the day counted (partition time)", nullable=False)
_DIGEST = _f("source_digest", pa.string(), "Hash of the fact files summarised", nullable=False)
_STATUS = _f("status", pa.string(), "Current status", nullable=False)
_PROJECT = _f("project", pa.string(), "Cost-allocation tag: project")
_COST_CENTRE = _f("cost_centre", pa.string(), "Cost-allocation tag: cost centre")
_WORKFLOW = _f("workflow", pa.string(), "Workflow name")

ROLLUP_RUNS_DAILY = register(
    _spec(
        "rollup_runs_daily",
        "Runs per day of their current status, by status, project, workflow, release, executor "
        "and failure reason, with their attempts, Spot reclaims and turnaround.",
        key=("day_at", "status", "project", "workflow", "pipeline_release", "executor", "reason"),
        time_column="day_at",
        fields=[
            _DAY,
            _STATUS,
            _PROJECT,
            _WORKFLOW,
            _f("pipeline_release", pa.string(), "Pipeline release"),
            _f("executor", pa.string(), "simulated | local | batch"),
            _f("reason", pa.string(), "Why the runs failed, as recorded"),
            _f("runs", pa.int64(), "Runs", nullable=False),
            _f("attempts", pa.int64(), "Attempts of those runs", nullable=False),
            _f("spot_reclaims", pa.int64(), "Attempts of those runs ended by a Spot reclaim"),
            _f("turnaround_s", pa.float64(), "Sum of first to current status, seconds"),
            _DIGEST,
        ],
    )
)

ROLLUP_RUN_SAMPLES_MONTHLY = register(
    _spec(
        "rollup_run_samples_monthly",
        "The samples with a run counted in a month (distinct counts over months stay exact).",
        key=("month_at", "sample_id"),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month (partition time)", nullable=False),
            _f("sample_id", pa.string(), "Sample"),
            _f("runs", pa.int64(), "Runs of the sample counted in the month", nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_ATTEMPTS_DAILY = register(
    _spec(
        "rollup_attempts_daily",
        "Job attempts per day of their furthest state, by status, capacity, instance type, queue, "
        "project and failure kind; reclaims and attempts whose run has no run row are flagged.",
        key=(
            "day_at",
            "status",
            "project",
            "capacity",
            "instance_type",
            "job_queue",
            "failure_kind",
            "spot_reclaim",
            "orphan",
        ),
        time_column="day_at",
        fields=[
            _DAY,
            _STATUS,
            _PROJECT,
            _f("capacity", pa.string(), "spot | on-demand"),
            _f("instance_type", pa.string(), "EC2 instance type"),
            _f("job_queue", pa.string(), "Batch job queue"),
            _f("failure_kind", pa.string(), "What the retry policy called it, if it decided"),
            _f("spot_reclaim", pa.bool_(), "Ended by a Spot reclaim", nullable=False),
            _f("orphan", pa.bool_(), "The attempt's run has no run row", nullable=False),
            _f("attempts", pa.int64(), "Attempts", nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_COSTS_MONTHLY = register(
    _spec(
        "rollup_costs_monthly",
        "Estimated cost per month of usage, by every cost-allocation tag but sample and run, "
        "component, capacity, instance type and price status (cost is reported by month).",
        key=(
            "month_at",
            "project",
            "workflow",
            "pipeline_release",
            "requested_by",
            "cost_centre",
            "component",
            "capacity",
            "instance_type",
            "price_status",
        ),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month of usage (partition time)", nullable=False),
            _PROJECT,
            _f("workflow", pa.string(), "Cost-allocation tag: workflow"),
            _f("pipeline_release", pa.string(), "Cost-allocation tag: pipeline release"),
            _f("requested_by", pa.string(), "Cost-allocation tag: user"),
            _COST_CENTRE,
            _f("component", pa.string(), "compute | licence | scratch_storage | …"),
            _f("capacity", pa.string(), "spot | on-demand"),
            _f("instance_type", pa.string(), "EC2 instance type"),
            _f("price_status", pa.string(), "list | approximate | unpriced"),
            _f("cost_usd", pa.float64(), "Estimated cost; null when no row was priced"),
            _f("line_count", pa.int64(), "Cost rows", nullable=False),
            _f("unpriced_rows", pa.int64(), "Rows without a price", nullable=False),
            _f("approximate_rows", pa.int64(), "Rows with an approximate price", nullable=False),
            _DIGEST,
        ],
    )
)

_TAG_FIELDS = [
    _PROJECT,
    _COST_CENTRE,
    _f("workflow", pa.string(), "Cost-allocation tag: workflow"),
    _f("pipeline_release", pa.string(), "Cost-allocation tag: pipeline release"),
]
_TAG_KEY = ("project", "cost_centre", "workflow", "pipeline_release")

ROLLUP_ATTEMPT_ENDS_DAILY = register(
    _spec(
        "rollup_attempt_ends_daily",
        "Finished job attempts per day and UTC hour they ended, by the tags a page filters on, "
        "capacity, instance type, availability zone, final status, failure kind and Spot reclaim.",
        key=(
            "day_at",
            "hour",
            *_TAG_KEY,
            "capacity",
            "instance_type",
            "availability_zone",
            "final_status",
            "failure_kind",
            "spot_reclaim",
        ),
        time_column="day_at",
        fields=[
            _f("day_at", TS, "UTC midnight of the day the attempts ended (partition time)",
               nullable=False),
            _f("hour", pa.int32(), "UTC hour of the day they ended"),
            *_TAG_FIELDS,
            _f("capacity", pa.string(), "spot | on-demand"),
            _f("instance_type", pa.string(), "EC2 instance type"),
            _f("availability_zone", pa.string(), "From the billing export; null until loaded"),
            _f("final_status", pa.string(),
               "SUCCEEDED | FAILED; null on the month's row of zeros (kept for its digest)"),
            _f("failure_kind", pa.string(), "What the retry policy called it, if it decided"),
            _f("spot_reclaim", pa.bool_(), "Ended by a Spot reclaim", nullable=False),
            _f("attempts", pa.int64(), "Attempts", nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_RETRIED_RUNS_DAILY = register(
    _spec(
        "rollup_retried_runs_daily",
        "Runs that took more than one attempt, per day of their current status, by tags and "
        "where they ended (Spot, On-Demand, given up, still running).",
        key=("day_at", *_TAG_KEY, "outcome"),
        time_column="day_at",
        fields=[
            _DAY,
            *_TAG_FIELDS,
            _f("outcome", pa.string(), "succeeded on Spot | … | given up | still running; null "
               "on the month's row of zeros (kept for its digest)"),
            _f("runs", pa.int64(), "Runs", nullable=False),
            _f("attempts", pa.int64(), "Attempts of those runs", nullable=False),
            _f("spot_reclaims", pa.int64(), "Attempts of those runs ended by a Spot reclaim",
               nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_ATTEMPT_COSTS_DAILY = register(
    _spec(
        "rollup_attempt_costs_daily",
        "Estimated cost of job attempts per day of usage, by tags, whether the attempt finished, "
        "its failure kind and the kind of cost (compute, licence, scratch_storage).",
        key=("day_at", *_TAG_KEY, "outcome", "failure_kind", "cost_kind"),
        time_column="day_at",
        fields=[
            _f("day_at", TS, "UTC midnight of the day of usage (partition time)",
               nullable=False),
            *_TAG_FIELDS,
            _f("outcome", pa.string(), "finished | did not finish | in progress; null on the "
               "month's row of zeros (kept for its digest)"),
            _f("failure_kind", pa.string(), "Failure kind of an attempt that did not finish"),
            _f("cost_kind", pa.string(), "compute | licence | scratch_storage"),
            _f("attempts", pa.int64(), "Attempts with cost rows of this kind", nullable=False),
            _f("cost_usd", pa.float64(), "Estimated cost; null when no row was priced"),
            _f("unpriced_rows", pa.int64(), "Rows without a price", nullable=False),
            _f("approximate_rows", pa.int64(), "Rows with an approximate or assumed price",
               nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_SAMPLE_COSTS_MONTHLY = register(
    _spec(
        "rollup_sample_costs_monthly",
        "Estimated cost per month of usage, sample and run, by the tags a page filters on, split "
        "into compute, licence and storage (the cost-per-sample distribution).",
        key=("month_at", "sample_id", "run_id", *_TAG_KEY),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month of usage (partition time)", nullable=False),
            _f("sample_id", pa.string(), "Sample; null on the month's row of zeros (its digest)"),
            _f("run_id", pa.string(), "Run"),
            *_TAG_FIELDS,
            _f("estimated_usd", pa.float64(), "Estimated cost; null when no row was priced"),
            _f("compute_usd", pa.float64(), "Of which compute"),
            _f("licence_usd", pa.float64(), "Of which DRAGEN licence"),
            _f("storage_usd", pa.float64(), "Of which storage (S3, scratch, transitions)"),
            _f("unpriced_rows", pa.int64(), "Cost rows without a price", nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_COST_PRICES_MONTHLY = register(
    _spec(
        "rollup_cost_prices_monthly",
        "Estimated cost not at a list price (approximate, assumed, unpriced) per month of usage, "
        "by the tags a page filters on, kind of cost, price status and price source.",
        key=("month_at", *_TAG_KEY, "cost_kind", "price_status", "price_source"),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month of usage (partition time)", nullable=False),
            *_TAG_FIELDS,
            _f("cost_kind", pa.string(), "compute | licence | scratch_storage | …"),
            _f("price_status", pa.string(), "approximate | assumed | unpriced; null on the "
               "month's row of zeros (kept for its digest)"),
            _f("price_source", pa.string(), "Where the price comes from"),
            _f("line_count", pa.int64(), "Cost rows", nullable=False),
            _f("cost_usd", pa.float64(), "Estimated cost; null when no row was priced"),
            _DIGEST,
        ],
    )
)

ROLLUP_SAVINGS_MONTHLY = register(
    _spec(
        "rollup_savings_monthly",
        "The savings view per month: Spot against On-Demand and archival against all-Standard, "
        "estimated and billed (no tags).",
        key=("month_at", "scenario"),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month (partition time)", nullable=False),
            _f("scenario", pa.string(), "What is compared; null on the month's row of zeros "
               "(kept for its digest)"),
            _f("actual_usd", pa.float64(), "Spent"),
            _f("baseline_usd", pa.float64(), "What the baseline would have cost"),
            _f("saving_usd", pa.float64(), "Baseline − actual"),
            _f("line_count", pa.int64(), "Rows compared", nullable=False),
            _f("unpriced_rows", pa.int64(), "Rows without a price on either side",
               nullable=False),
            _f("approximate_rows", pa.int64(), "Rows with an approximate price",
               nullable=False),
            _DIGEST,
        ],
    )
)

_MONTH = _f("month_at", TS, "UTC start of the month counted (partition time)", nullable=False)
_RELEASE = _f("pipeline_release", pa.string(), "Pipeline release")

ROLLUP_QC_VERDICTS_DAILY = register(
    _spec(
        "rollup_qc_verdicts_daily",
        "Runs gated on QC (suite sample_qc) per day they are counted on (the run's current "
        "status, else the gate's), by current verdict, project, workflow, cost centre and release.",
        key=("day_at", "verdict", "project", "workflow", "cost_centre", "pipeline_release"),
        time_column="day_at",
        fields=[
            _DAY,
            _f("verdict", pa.string(), "pass | review | fail: the latest gate", nullable=False),
            _PROJECT,
            _WORKFLOW,
            _COST_CENTRE,
            _RELEASE,
            _f("runs", pa.int64(), "Gated runs", nullable=False),
            _DIGEST,
        ],
    )
)

# The sample_qc metrics the Releases page compares between releases (numbers a bioinformatics
# lead reads); analytics.releases reads them from here.
RELEASE_METRICS = ("mean_coverage_x", "genome_ge_20x_pct", "q30_bases_pct", "mapped_reads_pct",
                   "duplicate_reads_pct", "contamination_pct", "insert_length_median_bp",
                   "ti_tv_ratio", "het_hom_ratio", "snps", "indels")

ROLLUP_RELEASE_RUNS_MONTHLY = register(
    _spec(
        "rollup_release_runs_monthly",
        "One row per run with a pipeline release, in the month of its current status: its tags, "
        "status, latest QC verdict, estimated cost, DRAGEN runtime and the QC metrics releases "
        "are compared on (the Releases page; 1 row a run against thousands of fact rows).",
        key=("run_id",),
        time_column="status_at",
        fields=[
            _f("status_at", TS, "Time of the run's current status (partition time)",
               nullable=False),
            _RELEASE,
            _f("sample_id", pa.string(), "Sample"),
            _f("run_id", pa.string(), "Run", nullable=False),
            _PROJECT,
            _COST_CENTRE,
            _WORKFLOW,
            _STATUS,
            _f("verdict", pa.string(), "Latest sample_qc verdict: pass | review | fail"),
            _f("cost_usd", pa.float64(), "Estimated cost of the run, USD"),
            _f("runtime_h", pa.float64(), "DRAGEN total runtime, hours"),
            *[_f(m, pa.float64(), f"sample_qc: {m}") for m in RELEASE_METRICS],
            _DIGEST,
        ],
    )
)

ROLLUP_RUN_TURNAROUND_MONTHLY = register(
    _spec(
        "rollup_run_turnaround_monthly",
        "One row per run with a sample_qc verdict, in the month of its latest verdict: its tags "
        "and the hours of each part of its turnaround, arrival to verdict (the Runs page's "
        "weekly distributions; 1 row a run against its status, attempt and QC rows).",
        key=("run_id",),
        time_column="evaluated_at",
        fields=[
            _f("evaluated_at", TS, "Time of the run's latest sample_qc verdict (partition time)",
               nullable=False),
            _f("run_id", pa.string(), "Run", nullable=False),
            _PROJECT,
            _COST_CENTRE,
            _WORKFLOW,
            _RELEASE,
            _f("waiting_h", pa.float64(), "First input arrival to dispatch, hours"),
            _f("queue_h", pa.float64(), "Dispatch to the first attempt's start, hours"),
            _f("run_h", pa.float64(), "First attempt's start to the run's end, hours"),
            _f("qc_h", pa.float64(), "Run's end to the verdict, hours"),
            _f("turnaround_h", pa.float64(), "Arrival (else dispatch) to the verdict, hours"),
            _DIGEST,
        ],
    )
)

ROLLUP_QC_GATES_DAILY = register(
    _spec(
        "rollup_qc_gates_daily",
        "Gated runs per UTC day of their latest gate (the gate's own time, as the overview counts "
        "them), by suite, verdict and project.",
        key=("day_at", "suite", "verdict", "project"),
        time_column="day_at",
        fields=[
            _DAY,
            _f("suite", pa.string(), "Great Expectations suite name", nullable=False),
            _f("verdict", pa.string(), "pass | review | fail: the latest gate"),
            _PROJECT,
            _f("runs", pa.int64(), "Gated runs", nullable=False),
            _DIGEST,
        ],
    )
)

ROLLUP_QC_METRICS_MONTHLY = register(
    _spec(
        "rollup_qc_metrics_monthly",
        "Per month a gated run is counted on, project, release and numeric check of its latest "
        "gate: how many values, how many passed, and their distribution (min, p10, p50, p90, max).",
        key=("month_at", "project", "pipeline_release", "check_id", "metric_id", "threshold",
             "severity"),
        time_column="month_at",
        fields=[
            _MONTH,
            _PROJECT,
            _RELEASE,
            _f("check_id", pa.string(), "Check name", nullable=False),
            _f("metric_id", pa.string(), "Metric checked"),
            _f("threshold", pa.string(), "The rule the values were held to, e.g. '>= 30'"),
            _f("severity", pa.string(), "fail | warn"),
            _f("runs", pa.int64(), "Runs with a value", nullable=False),
            _f("passed", pa.int64(), "Of those, runs that passed the check", nullable=False),
            _f("min_value", pa.float64(), "Smallest value"),
            _f("p10_value", pa.float64(), "10th percentile (linear interpolation)"),
            _f("p50_value", pa.float64(), "Median (linear interpolation)"),
            _f("p90_value", pa.float64(), "90th percentile (linear interpolation)"),
            _f("max_value", pa.float64(), "Largest value"),
            _DIGEST,
        ],
    )
)

ROLLUP_BILLED_MONTHLY = register(
    _spec(
        "rollup_billed_monthly",
        "Billed spend per month of usage as billed_allocated counts it (each dollar once: split "
        "rows to their task's tags, unused instance capacity apart), by every cost-allocation tag "
        "but sample and run, allocation, service, capacity and instance type.",
        key=("month_at", "project", "workflow", "pipeline_release", "requested_by",
             "cost_centre", "allocation", "product_code", "capacity", "instance_type"),
        time_column="month_at",
        fields=[
            _f("month_at", TS, "UTC start of the month of usage (partition time)", nullable=False),
            _PROJECT,
            _f("workflow", pa.string(), "Cost-allocation tag: workflow"),
            _RELEASE,
            _f("requested_by", pa.string(), "Cost-allocation tag: user"),
            _COST_CENTRE,
            _f("allocation", pa.string(), "split | line | unused", nullable=False),
            _f("product_code", pa.string(), "AWS service, e.g. AmazonEC2"),
            _f("capacity", pa.string(), "spot | on-demand"),
            _f("instance_type", pa.string(), "EC2 instance type"),
            _f("cost_usd", pa.float64(), "Billed cost"),
            _f("line_count", pa.int64(), "Allocated lines", nullable=False),
            _DIGEST,
        ],
    )
)

_DAILY_SPEND_KEY = ("day_at", "project", "workflow", "pipeline_release", "requested_by",
                    "cost_centre")


def _daily_spend_fields(cost: str) -> list[pa.Field]:
    return [
        _f("day_at", TS, "UTC start of the day of usage", nullable=False),
        _PROJECT,
        _f("workflow", pa.string(), "Cost-allocation tag: workflow"),
        _RELEASE,
        _f("requested_by", pa.string(), "Cost-allocation tag: user"),
        _COST_CENTRE,
        _f("cost_usd", pa.float64(), cost),
        _f("line_count", pa.int64(), "Rows summed", nullable=False),
        _DIGEST,
    ]


# The Cost page per day: a year of cost rows per day is minutes of reading; these are thousands.
ROLLUP_COSTS_DAILY = register(
    _spec(
        "rollup_costs_daily",
        "Estimated cost per day of usage, by every cost-allocation tag but sample and run (the "
        "Cost page's estimated side per day, and any date range that cuts a month).",
        key=_DAILY_SPEND_KEY,
        time_column="day_at",
        fields=_daily_spend_fields("Estimated cost; null when no row was priced"),
    )
)

ROLLUP_BILLED_DAILY = register(
    _spec(
        "rollup_billed_daily",
        "Allocated billed spend per day of usage as billed_allocated counts it, unused instance "
        "capacity left out, by every cost-allocation tag but sample and run (the Cost page's "
        "billed side per day).",
        key=_DAILY_SPEND_KEY,
        time_column="day_at",
        fields=_daily_spend_fields("Billed cost"),
    )
)

ROLLUPS = (
    ROLLUP_RUNS_DAILY,
    ROLLUP_RUN_SAMPLES_MONTHLY,
    ROLLUP_ATTEMPTS_DAILY,
    ROLLUP_COSTS_MONTHLY,
    ROLLUP_ATTEMPT_ENDS_DAILY,
    ROLLUP_RETRIED_RUNS_DAILY,
    ROLLUP_ATTEMPT_COSTS_DAILY,
    ROLLUP_SAMPLE_COSTS_MONTHLY,
    ROLLUP_COST_PRICES_MONTHLY,
    ROLLUP_SAVINGS_MONTHLY,
    ROLLUP_QC_VERDICTS_DAILY,
    ROLLUP_QC_GATES_DAILY,
    ROLLUP_RELEASE_RUNS_MONTHLY,
    ROLLUP_QC_METRICS_MONTHLY,
    ROLLUP_BILLED_MONTHLY,
    ROLLUP_COSTS_DAILY,
    ROLLUP_BILLED_DAILY,
)
