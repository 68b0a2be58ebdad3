"""Synthetic lake rows at production scale, shaped like the simulator's (shared by benchmarks).

One month of work is ``n_jobs`` Batch jobs, grouped into runs (one analysis of one sample) of a
dozen or so projects with a skewed share each. Every job moves SUBMITTED → RUNNABLE → STARTING →
RUNNING → SUCCEEDED | FAILED, one ``job_attempts`` row per state change (5 rows a job), on F1/F2
instances, mostly Spot. A few per cent of Spot jobs are reclaimed ("Host EC2 (instance i-…)
terminated.") and resubmitted as a new job with the next attempt number; a few fail in the
application with exit code 1. Events are delivered at least once (a fraction is redelivered, with a
later ``recorded_at``) and arrive late and out of order, which is what the store's idempotent writes
and the deduplicating views exist for.

Everything is vectorised (numpy + pyarrow): a full month (500,000 jobs, 2.5 M rows) takes a few
seconds. The same ``seed`` always gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake.schemas import TAG_COLUMNS, TS, table

STATUSES = ("SUBMITTED", "RUNNABLE", "STARTING", "RUNNING")  # then SUCCEEDED or FAILED
INSTANCE_TYPES = ("f1.2xlarge", "f1.4xlarge", "f1.16xlarge", "f2.6xlarge", "f2.12xlarge")
INSTANCE_SHARE = (0.10, 0.45, 0.05, 0.30, 0.10)
INSTANCE_VCPUS = (8, 16, 64, 24, 48)
INSTANCE_MEMORY_MIB = (122, 244, 976, 256, 512)  # GiB here, ×1024 below (a job asks for ~90 %)
WORKFLOWS = (
    "dragen-germline-wgs",
    "dragen-germline-wgs",
    "dragen-ora-decompress",
    "dragen-somatic-wgs",
    "dragen-qc",
)
RECLAIM = "Host EC2 (instance {}) terminated."
APP_ERROR = "Essential container in task exited"
US_PER_S = 1_000_000


@dataclass(frozen=True, slots=True)
class Month:
    """A month of synthetic work: a job per row in ``jobs``; ``attempts``: its state changes."""

    month: str
    jobs: pa.Table
    attempts: pa.Table  # job_attempts rows, in arrival order, with an ``arrival_s`` column


def month_start(month: str) -> datetime:
    year, mon = (int(p) for p in month.split("-"))
    return datetime(year, mon, 1, tzinfo=UTC)


def next_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


def months_from(first: str, n: int) -> list[str]:
    out = [first]
    while len(out) < n:
        out.append(next_month(out[-1]))
    return out


_HEX_PAIRS = np.array(
    [ord(f"{i:02x}"[0]) | ord(f"{i:02x}"[1]) << 8 for i in range(256)], dtype="<u2"
)


def hex_ids(
    rng: np.random.Generator, n: int, nbytes: int, prefix: str = "", uuid_like: bool = False
) -> pa.Array:
    """``n`` random hex strings of ``nbytes`` bytes (UUID-shaped if asked), with no Python loop."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    chars = _HEX_PAIRS[raw].view(np.uint8)  # two hex digits per byte
    parts = [chars]
    if uuid_like:  # 8-4-4-4-12
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        parts = [
            chars[:, :8],
            dash,
            chars[:, 8:12],
            dash,
            chars[:, 12:16],
            dash,
            chars[:, 16:20],
            dash,
            chars[:, 20:],
        ]
    if prefix:
        parts.insert(0, np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, 1)))
    chars = np.ascontiguousarray(np.concatenate(parts, axis=1))
    width = chars.shape[1]
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(chars)])
    return fixed.cast(pa.binary()).cast(pa.string())


def _numbered(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, e.g. S0000042."""
    numbers = pa.array(values.astype(np.int64)).cast(pa.string())
    padded = pc.utf8_lpad(numbers, width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def _pick(rng: np.random.Generator, choices: tuple, shares: tuple | None, n: int) -> np.ndarray:
    return rng.choice(
        len(choices), size=n, p=None if shares is None else np.array(shares) / sum(shares)
    )


def _ts(base: datetime, seconds: np.ndarray) -> pa.Array:
    us = int(base.timestamp()) * US_PER_S + np.round(seconds * US_PER_S).astype(np.int64)
    return pa.array(us, type=TS)


def jobs_for_month(
    month: str, n_jobs: int, *, n_projects: int = 12, jobs_per_run: int = 125, seed: int = 0
) -> pa.Table:
    """One row per Batch job submitted in ``month``, with its tags, resources and outcome."""
    rng = np.random.default_rng([seed, *(int(p) for p in month.split("-"))])
    n_runs = max(1, n_jobs // jobs_per_run)
    month_s = (month_start(next_month(month)) - month_start(month)).total_seconds()
    # Projects have skewed sizes (a few large programmes, many small studies).
    project_share = 1.0 / np.arange(1, n_projects + 1) ** 1.1
    run_project = rng.choice(n_projects, size=n_runs, p=project_share / project_share.sum())
    run_start = rng.uniform(0, month_s * 0.98, size=n_runs)
    run_workflow = _pick(rng, WORKFLOWS, None, n_runs)
    run_of_job = rng.integers(0, n_runs, size=n_jobs)
    # Jobs of a run are submitted over a few hours after the run starts.
    submit_s = np.minimum(run_start[run_of_job] + rng.exponential(3 * 3600, n_jobs), month_s - 1)
    spot = rng.random(n_jobs) < 0.85
    itype = _pick(rng, INSTANCE_TYPES, INSTANCE_SHARE, n_jobs)
    attempt = np.where(rng.random(n_jobs) < 0.06, 2, 1) + (rng.random(n_jobs) < 0.01)
    outcome = rng.random(n_jobs)
    reclaimed = spot & (outcome < 0.06)
    app_error = ~reclaimed & (outcome > 0.985)
    # Waiting in the queue, booting, then a run time: DRAGEN-sized jobs of minutes to hours.
    queued_s = rng.exponential(120, n_jobs)
    starting_s = 60 + rng.exponential(180, n_jobs)
    pulling_s = 20 + rng.exponential(40, n_jobs)
    running_s = rng.lognormal(np.log(1500), 1.0, n_jobs)
    running_s = np.where(reclaimed, running_s * rng.random(n_jobs), running_s)
    vcpus = np.array(INSTANCE_VCPUS)[itype]
    memory_mib = (np.array(INSTANCE_MEMORY_MIB)[itype] * 1024 * 0.9).astype(np.int32)
    projects = np.array([f"P{p:03d}" for p in range(n_projects)])
    users = np.array([f"user{u:02d}" for u in range(n_projects * 3)])
    run_user = run_project * 3 + rng.integers(0, 3, n_runs)
    base = month_start(month)
    return pa.table(
        {
            "project": pa.array(projects[run_project][run_of_job]),
            "sample_id": _numbered(f"S{month.replace('-', '')}-", run_of_job, 6),
            "run_id": _numbered(f"R{month.replace('-', '')}-", run_of_job, 6),
            "workflow": pa.array(np.array(WORKFLOWS)[run_workflow][run_of_job]),
            "pipeline_release": pa.array(
                np.where(rng.random(n_jobs) < 0.9, "dragen-4.3.6-r2", "dragen-4.2.4-r7")
            ),
            "requested_by": pa.array(users[run_user][run_of_job]),
            "cost_centre": pa.array(np.char.add("CC-", projects[run_project][run_of_job])),
            "job_id": hex_ids(rng, n_jobs, 16, uuid_like=True),
            "job_name": _numbered("dragen-", np.arange(n_jobs), 7),
            "attempt": pa.array(attempt.astype(np.int32)),
            "job_queue": pa.array(np.where(spot, "dragen-spot", "dragen-on-demand")),
            "capacity": pa.array(np.where(spot, "spot", "on-demand")),
            "instance_type": pa.array(np.array(INSTANCE_TYPES)[itype]),
            "instance_id": hex_ids(rng, n_jobs, 9, prefix="i-"),
            "vcpus": pa.array(vcpus.astype(np.int32)),
            "memory_mib": pa.array(memory_mib),
            "reclaimed": pa.array(reclaimed),
            "app_error": pa.array(app_error),
            "submitted_at": _ts(base, submit_s),
            "runnable_after_s": pa.array(np.minimum(queued_s, 5.0)),
            "starting_after_s": pa.array(queued_s),
            "running_after_s": pa.array(queued_s + starting_s),
            "stopped_after_s": pa.array(queued_s + starting_s + pulling_s + running_s),
        }
    )


def job_attempts_rows(jobs: pa.Table, *, duplicate_rate: float = 0.01, seed: int = 0) -> pa.Table:
    """The ``job_attempts`` rows of ``jobs`` (5 per job), in arrival order, redeliveries included.

    The extra ``arrival_s`` column (seconds since the first submission) says when each event
    reached the ingest Lambda; batch by it. ``lake_columns`` drops it before writing.
    """
    rng = np.random.default_rng([seed, 7, jobs.num_rows])
    n = jobs.num_rows
    n_states = len(STATUSES) + 1
    job_idx = np.repeat(np.arange(n), n_states)
    state = np.tile(np.arange(n_states), n)
    submitted_us = jobs["submitted_at"].cast(pa.int64()).to_numpy()
    offsets_s = np.column_stack(
        [
            np.zeros(n),
            *(
                jobs[c].to_numpy()
                for c in (
                    "runnable_after_s",
                    "starting_after_s",
                    "running_after_s",
                    "stopped_after_s",
                )
            ),
        ]
    ).ravel()
    status_us = submitted_us[job_idx] + np.round(offsets_s * US_PER_S).astype(np.int64)
    # Ingest delay: seconds usually, minutes sometimes; this is what reorders the events.
    delay_s = rng.exponential(4, len(job_idx)) + (
        rng.random(len(job_idx)) < 0.02
    ) * rng.exponential(600, len(job_idx))
    # At-least-once delivery: a fraction of events arrives again a little later.
    dup = np.flatnonzero(rng.random(len(job_idx)) < duplicate_rate)
    job_idx, state, status_us = (np.concatenate([v, v[dup]]) for v in (job_idx, state, status_us))
    delay_s = np.concatenate([delay_s, delay_s[dup] + rng.exponential(60, len(dup))])
    arrival_us = status_us + np.round(delay_s * US_PER_S).astype(np.int64)
    # Put everything in arrival order before building columns: one gather per column, no re-sort.
    order = np.argsort(arrival_us, kind="stable")
    job_idx, state, status_us, arrival_us = (
        v[order] for v in (job_idx, state, status_us, arrival_us)
    )

    reclaimed = jobs["reclaimed"].to_numpy(zero_copy_only=False)[job_idx]
    app_error = jobs["app_error"].to_numpy(zero_copy_only=False)[job_idx]
    terminal = state == n_states - 1
    failed = terminal & (reclaimed | app_error)
    status_codes = np.where(failed, n_states, state).astype(np.int32)
    status_names = pa.array([*STATUSES, "SUCCEEDED", "FAILED"])
    take = pa.array(job_idx)
    cols = {c: _spread(jobs[c], take) for c in (*TAG_COLUMNS, "job_id", "job_name", "attempt")}
    cols["status"] = status_names.take(pa.array(status_codes))
    cols["status_at"] = pa.array(status_us, type=TS)
    instance_ids = jobs["instance_id"].take(take)
    reason = pc.if_else(
        pa.array(reclaimed),
        pc.binary_join_element_wise("Host EC2 (instance ", instance_ids, ") terminated.", ""),
        pa.scalar(APP_ERROR),
    )
    cols["status_reason"] = pc.if_else(pa.array(failed), reason, pa.scalar(None, pa.string()))
    cols["exit_code"] = pa.array(
        np.where(app_error, 1, 0).astype(np.int32), mask=~terminal | reclaimed
    )
    cols["job_queue"] = _spread(jobs["job_queue"], take)
    cols["capacity"] = _spread(jobs["capacity"], take)
    on_host = pa.array(state >= 2)  # the instance is known from STARTING on
    cols["instance_type"] = pc.if_else(
        on_host, _spread(jobs["instance_type"], take), pa.scalar(None, pa.string())
    )
    cols["instance_id"] = pc.if_else(on_host, instance_ids, pa.scalar(None, pa.string()))
    cols["vcpus"] = jobs["vcpus"].take(take)
    cols["memory_mib"] = jobs["memory_mib"].take(take)
    running_us = submitted_us + np.round(jobs["running_after_s"].to_numpy() * US_PER_S).astype(
        np.int64
    )
    cols["started_at"] = pa.array(running_us[job_idx], type=TS, mask=state < 3)
    cols["stopped_at"] = pa.array(status_us, type=TS, mask=~terminal)
    cols["event_id"] = hex_ids(rng, len(job_idx), 16, uuid_like=True)
    cols["schema_version"] = pa.array(np.ones(len(job_idx), np.int16))
    cols["recorded_at"] = pa.array(arrival_us + 50_000, type=TS)  # the Lambda writes 50 ms later
    t0 = int(submitted_us.min()) if n else 0
    cols["arrival_s"] = pa.array((arrival_us - t0) / US_PER_S)
    return pa.table(cols)


def _spread(column: pa.ChunkedArray, take: pa.Array) -> pa.Array:
    """``column[take]``; few distinct strings are gathered as dictionary codes (much faster)."""
    if pa.types.is_string(column.type) and len(pc.unique(column)) < len(column) // 50:
        return column.dictionary_encode().take(take).cast(pa.string())
    return column.take(take)


def costs_rows(jobs: pa.Table, *, seed: int = 0) -> pa.Table:
    """Estimated ``costs`` rows of ``jobs``: compute, licence and scratch storage per attempt."""
    rng = np.random.default_rng([seed, 11, jobs.num_rows])
    n = jobs.num_rows
    spot = pc.equal(jobs["capacity"], "spot").to_numpy(zero_copy_only=False)
    runtime_s = jobs["stopped_after_s"].to_numpy() - jobs["running_after_s"].to_numpy()
    # Illustrative On-Demand $/h of INSTANCE_TYPES; Spot at 30-45 % of it.
    hourly = np.array([1.65, 3.30, 13.20, 1.99, 3.96])[
        _index_of(jobs["instance_type"], INSTANCE_TYPES)
    ]
    rate = np.where(spot, hourly * rng.uniform(0.3, 0.45, n), hourly) / 3600
    components = ("compute", "licence", "scratch_storage")
    quantity = np.column_stack([runtime_s, runtime_s, 500 * runtime_s / (30 * 86400)]).ravel()
    rates = np.column_stack([rate, np.full(n, 0.000_278), np.full(n, 0.08)]).ravel()
    units = np.tile(np.array(["s", "s", "GB-month"], dtype=object), n)
    take = pa.array(np.repeat(np.arange(n), len(components)))
    cols = {c: _spread(jobs[c], take) for c in (*TAG_COLUMNS, "job_id", "attempt")}
    start_us = jobs["submitted_at"].cast(pa.int64()).to_numpy() + np.round(
        jobs["running_after_s"].to_numpy() * US_PER_S
    ).astype(np.int64)
    end_us = start_us + np.round(runtime_s * US_PER_S).astype(np.int64)
    cols["component"] = pa.array(np.tile(np.array(components, dtype=object), n), type=pa.string())
    cols["usage_start_at"] = pa.array(np.repeat(start_us, 3), type=TS)
    cols["usage_end_at"] = pa.array(np.repeat(end_us, 3), type=TS)
    cols["quantity"] = pa.array(quantity)
    cols["quantity_unit"] = pa.array(units, type=pa.string())
    cols["rate_usd"] = pa.array(rates)
    cols["cost_usd"] = pa.array(quantity * rates)
    cols["capacity"] = _spread(jobs["capacity"], take)
    cols["instance_type"] = _spread(jobs["instance_type"], take)
    cols["price_source"] = pa.array(
        np.repeat(np.where(spot, "ec2_spot.csv", "ec2_on_demand.csv"), 3)
    )
    cols["price_status"] = pa.array(np.repeat(np.where(spot, "approximate", "list"), 3))
    rows = pa.table(cols)
    rows = rows.append_column("schema_version", pa.array(np.ones(rows.num_rows, np.int16)))
    return rows.append_column(
        "recorded_at", pa.array(np.repeat(end_us + 60 * US_PER_S, 3), type=TS)
    )


def _index_of(values: pa.ChunkedArray | pa.Array, choices: tuple[str, ...]) -> np.ndarray:
    return pc.index_in(values, value_set=pa.array(list(choices))).to_numpy(zero_copy_only=False)


def lake_columns(rows: pa.Table, name: str) -> pa.Table:
    """``rows`` as lake table ``name`` stores them: its columns, in order, cast to its schema."""
    spec = table(name)
    return rows.select(spec.columns).cast(spec.schema)


def month_of_work(month: str, n_jobs: int, *, seed: int = 0, duplicate_rate: float = 0.01) -> Month:
    jobs = jobs_for_month(month, n_jobs, seed=seed)
    return Month(month, jobs, job_attempts_rows(jobs, duplicate_rate=duplicate_rate, seed=seed))


def batches_by_window(rows: pa.Table, window_s: float) -> list[pa.Table]:
    """Cut arrival-ordered rows into one batch per ``window_s`` of arrival time (a batch window)."""
    if rows.num_rows == 0:
        return []
    window = np.floor(rows["arrival_s"].to_numpy() / window_s).astype(np.int64)
    cuts = np.flatnonzero(np.diff(window)) + 1
    bounds = [0, *cuts.tolist(), rows.num_rows]
    return [rows.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def batches_by_count(rows: pa.Table, low: int, high: int, *, seed: int = 0) -> list[pa.Table]:
    """Cut arrival-ordered rows into batches of ``low``..``high`` events (Lambda invocations)."""
    rng = np.random.default_rng([seed, 13])
    sizes = rng.integers(low, high + 1, size=rows.num_rows // low + 1)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    bounds = bounds[bounds < rows.num_rows].tolist() + [rows.num_rows]
    return [rows.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def runs_rows(jobs: pa.Table, *, active_share: float = 0.02, seed: int = 0) -> pa.Table:
    """``runs`` rows of the runs ``jobs`` belong to: DISPATCHED, RUNNING, then SUCCEEDED or FAILED.

    A run starts with its first job and ends with its last; it FAILED when one of its jobs failed
    in the application. ``active_share`` of the runs have no terminal row yet (still running).
    """
    rng = np.random.default_rng([seed, 13, jobs.num_rows])
    submitted = jobs["submitted_at"].cast(pa.int64())
    stopped = pc.add(
        submitted,
        pc.cast(pc.round(pc.multiply(jobs["stopped_after_s"], US_PER_S)), pa.int64()),
    )
    per_run = (
        jobs.select([*TAG_COLUMNS, "app_error"])
        .append_column("submitted_us", submitted)
        .append_column("stopped_us", stopped)
        .group_by("run_id", use_threads=False)
        .aggregate(
            [
                *((c, "max") for c in TAG_COLUMNS if c != "run_id"),
                ("app_error", "any"),
                ("submitted_us", "min"),
                ("stopped_us", "max"),
            ]
        )
    )
    n = per_run.num_rows
    failed = per_run["app_error_any"].to_numpy(zero_copy_only=False)
    active = rng.random(n) < active_share
    start = per_run["submitted_us_min"].to_numpy()
    end = per_run["stopped_us_max"].to_numpy()
    status = np.where(failed, "FAILED", "SUCCEEDED")
    parts = []
    for name, at, keep in (
        ("DISPATCHED", start - 30 * US_PER_S, np.ones(n, bool)),
        ("RUNNING", start, np.ones(n, bool)),
        (None, end, ~active),
    ):
        idx = pa.array(np.flatnonzero(keep))
        cols = {c: per_run[f"{c}_max"].take(idx) for c in TAG_COLUMNS if c != "run_id"}
        cols["run_id"] = per_run["run_id"].take(idx)
        names = status[keep] if name is None else np.full(int(keep.sum()), name)
        cols["status"] = pa.array(names, pa.string())
        cols["status_at"] = pa.array(at[keep], type=TS)
        reason = np.where(names == "FAILED", "application_error: exit 1", None)
        cols["reason"] = pa.array(reason, pa.string())
        cols["executor"] = pa.array(np.full(len(names), "batch"), pa.string())
        parts.append(pa.table(cols))
    rows = pa.concat_tables(parts)
    rows = rows.append_column("schema_version", pa.array(np.ones(rows.num_rows, np.int16)))
    return rows.append_column(
        "recorded_at", pc.cast(pc.add(rows["status_at"].cast(pa.int64()), US_PER_S), TS)
    )


def decisions_rows(jobs: pa.Table) -> pa.Table:
    """``decisions`` rows: what the policy decided after each job's terminal attempt."""
    reclaimed = jobs["reclaimed"].to_numpy(zero_copy_only=False)
    app_error = jobs["app_error"].to_numpy(zero_copy_only=False)
    kind = np.where(reclaimed, "spot_reclaim", np.where(app_error, "application_error", "none"))
    action = np.where(reclaimed, "retry", np.where(app_error, "give_up", "complete"))
    decided_us = jobs["submitted_at"].cast(pa.int64()).to_numpy() + np.round(
        (jobs["stopped_after_s"].to_numpy() + 1) * US_PER_S
    ).astype(np.int64)
    cols = {c: jobs[c] for c in (*TAG_COLUMNS, "job_id", "attempt")}
    cols["decided_at"] = pa.array(decided_us, type=TS)
    cols["failure_kind"] = pa.array(kind, pa.string())
    cols["action"] = pa.array(action, pa.string())
    cols["next_capacity"] = pa.array(np.where(reclaimed, "spot", None), pa.string())
    cols["reason"] = pa.array(np.where(reclaimed, "Spot capacity reclaimed", None), pa.string())
    cols["schema_version"] = pa.array(np.ones(jobs.num_rows, np.int16))
    cols["recorded_at"] = pa.array(decided_us + 60 * US_PER_S, type=TS)
    return pa.table(cols)


# -- QC and billing ------------------------------------------------------------------------------
# The gated metrics (metric_id, mean, spread, rule, severity) of the synthetic QC suite.
QC_CHECKS = (
    ("mean_coverage_x", 34.0, 2.0, ">= 30", "fail"),
    ("genome_ge_20x_pct", 93.0, 1.2, ">= 90", "fail"),
    ("q30_bases_pct", 90.0, 2.5, ">= 85", "warn"),
    ("mapped_reads_pct", 98.5, 0.6, ">= 97", "fail"),
    ("duplicate_reads_pct", 9.0, 3.0, "<= 15", "warn"),
    ("contamination_pct", 0.5, 0.4, "<= 2", "fail"),
    ("insert_length_median_bp", 420.0, 40.0, ">= 300", "warn"),
    ("ti_tv_ratio", 2.05, 0.04, ">= 1.95", "warn"),
)
QC_METRICS_PER_RUN = 84  # DRAGEN's mapping, coverage and variant-calling lines of one sample


def _full(cols: dict[str, pa.Array], name: str, n: int) -> pa.Table:
    """Lake table ``name`` from ``cols``, every other column null, cast to its schema."""
    spec = table(name)
    return pa.table(
        {c: cols[c] if c in cols else pa.nulls(n, spec.schema.field(c).type) for c in spec.columns}
    ).cast(spec.schema)


def _finished(runs: pa.Table) -> pa.Table:
    return runs.filter(pc.is_in(runs["status"], pa.array(["SUCCEEDED", "FAILED"])))


def qc_metrics_rows(runs: pa.Table, *, seed: int = 0) -> pa.Table:
    """``qc_metrics`` of every finished run in ``runs`` (``runs_rows``): ``QC_METRICS_PER_RUN``
    lines each, the gated metrics among them."""
    done = _finished(runs)
    n, k = done.num_rows, QC_METRICS_PER_RUN
    rng = np.random.default_rng([seed, 17, n])
    take = pa.array(np.repeat(np.arange(n), k))
    line = np.tile(np.arange(k), n)
    gated = len(QC_CHECKS)
    means = np.array([c[1] for c in QC_CHECKS] + [1000.0] * (k - gated))
    spread = np.array([c[2] for c in QC_CHECKS] + [300.0] * (k - gated))
    ids = np.array([c[0] for c in QC_CHECKS] + [f"metric_{i:02d}" for i in range(gated, k)])
    value = rng.normal(np.tile(means, n), np.tile(spread, n))
    sample = done["sample_id"].take(take)
    cols = {
        "sample_id": sample,
        "run_id": done["run_id"].take(take),
        "run_at": done["status_at"].take(take),
        "source_file": pc.binary_join_element_wise(sample, pa.scalar(".metrics.csv"), ""),
        "file_type": pa.array(np.full(n * k, "mapping_metrics")),
        "line": pa.array(line.astype(np.int32)),
        "section": pa.array(np.full(n * k, "MAPPING/ALIGNING SUMMARY")),
        "read_group": pa.array(np.full(n * k, "")),
        "metric_name": pa.array(np.tile(ids, n)),
        "metric_id": pa.array(np.tile(ids, n)),
        "value": pa.array(value),
        "unit": pa.array(np.full(n * k, "count")),
        "dragen_version": pa.array(np.full(n * k, "4.3.6")),
        "schema_version": pa.array(np.ones(n * k, np.int16)),
    }
    cols["recorded_at"] = pc.cast(
        pc.add(cols["run_at"].cast(pa.int64()), 300 * US_PER_S), TS)
    return _full(cols, "qc_metrics", n * k)


def qc_results_rows(metrics: pa.Table) -> pa.Table:
    """``qc_results`` of the gate over ``metrics`` (``qc_metrics_rows``): one row per gated check
    of each run, and its ``overall`` row (fail if a fail-severity check failed, review if a warn
    one did, else pass), evaluated ten minutes after the run."""
    gated = metrics.filter(pc.less(metrics["line"], len(QC_CHECKS)))
    n = gated.num_rows // len(QC_CHECKS)
    value = gated["value"].to_numpy()
    check = np.tile(np.arange(len(QC_CHECKS)), n)
    rule = np.array([c[3] for c in QC_CHECKS])[check]
    bound = np.array([float(c[3].split()[1]) for c in QC_CHECKS])[check]
    passed = np.where(np.char.startswith(rule.astype(str), ">="), value >= bound, value <= bound)
    severity = np.array([c[4] for c in QC_CHECKS])[check]
    verdict = np.where(passed, "pass", np.where(severity == "fail", "fail", "review"))
    per_run = verdict.reshape(n, len(QC_CHECKS))
    overall = np.where((per_run == "fail").any(1), "fail",
                       np.where((per_run == "review").any(1), "review", "pass"))
    first = pa.array(np.arange(n) * len(QC_CHECKS))
    evaluated = pc.cast(pc.add(gated["run_at"].cast(pa.int64()), 600 * US_PER_S), TS)
    checks = {
        "sample_id": gated["sample_id"],
        "run_id": gated["run_id"],
        "project": pa.nulls(gated.num_rows, pa.string()),
        "check_id": pc.binary_join_element_wise(gated["metric_id"], pa.scalar("_min"), ""),
        "metric_id": gated["metric_id"],
        "observed_value": gated["value"],
        "threshold": pa.array(rule),
        "passed": pa.array(passed),
        "severity": pa.array(severity),
        "verdict": pa.array(verdict),
        "evaluated_at": evaluated,
    }
    over = {
        "sample_id": gated["sample_id"].take(first),
        "run_id": gated["run_id"].take(first),
        "project": pa.nulls(n, pa.string()),
        "check_id": pa.array(np.full(n, "overall")),
        "observed_text": pa.array(np.full(n, "")),
        "passed": pa.array(overall == "pass"),
        "verdict": pa.array(overall),
        "evaluated_at": evaluated.take(first),
    }
    out = []
    for cols, rows in ((checks, gated.num_rows), (over, n)):
        cols |= {
            "suite": pa.array(np.full(rows, "sample_qc")),
            "suite_version": pa.array(np.full(rows, "v1")),
            "pipeline_release": pa.array(np.full(rows, "dragen-4.3.6-r2")),
            "schema_version": pa.array(np.ones(rows, np.int16)),
            "recorded_at": cols["evaluated_at"],
        }
        out.append(_full(cols, "qc_results", rows))
    return pa.concat_tables(out)


def billed_costs_rows(jobs: pa.Table, *, seed: int = 0) -> pa.Table:
    """``billed_costs`` of ``jobs`` (CUR 2.0 with split cost allocation): a split row per job
    (its task's share of its instance-hour), a row per instance-hour shared by a run's jobs in
    that hour (the parent: the split rows leave ~15 % of it unused), and a day of S3 storage per
    run and day of its first ten days (a few untagged)."""
    rng = np.random.default_rng([seed, 19, jobs.num_rows])
    n = jobs.num_rows
    start = jobs["submitted_at"].cast(pa.int64()).to_numpy() + np.round(
        jobs["running_after_s"].to_numpy() * US_PER_S).astype(np.int64)
    hour = start - start % (3600 * US_PER_S)
    hourly = np.array([1.65, 3.30, 13.20, 1.99, 3.96])[_index_of(jobs["instance_type"],
                                                                  INSTANCE_TYPES)]
    parent_key = pc.binary_join_element_wise(
        jobs["run_id"], pa.array(hour).cast(pa.string()), jobs["instance_type"], "-")
    parents = (pa.table({"key": parent_key, "run_id": jobs["run_id"], "hour": pa.array(hour),
                         "hourly": pa.array(hourly), "i": pa.array(np.arange(n))})
               .group_by("key", use_threads=False)
               .aggregate([("i", "min"), ("hourly", "max"), ("i", "count")]))
    inst = hex_ids(rng, parents.num_rows, 9, prefix="i-")
    parent_of = dict(zip(parents["key"].to_pylist(), range(parents.num_rows), strict=True))
    p_index = np.array([parent_of[k] for k in parent_key.to_pylist()])
    share = 0.85 / parents["i_count"].to_numpy()[p_index]
    tags = {c: jobs[c] for c in TAG_COLUMNS}
    split = {
        **tags,
        "line_item_id": hex_ids(rng, n, 20),
        "usage_start_at": pa.array(hour, TS),
        "product_code": pa.array(np.full(n, "AmazonECS")),
        "usage_type": pa.array(np.full(n, "USE1-ECS-EC2-vCPU-Hours")),
        "resource_id": jobs["job_id"],
        "split_parent_resource_id": inst.take(pa.array(p_index)),
        "split_cost_usd": pa.array(hourly * share),
        "unblended_cost_usd": pa.array(np.zeros(n)),
    }
    first = parents["i_min"]
    m = parents.num_rows
    spot = pc.equal(jobs["capacity"].take(first), "spot").to_numpy(zero_copy_only=False)
    parent = {
        **{c: jobs[c].take(first) for c in TAG_COLUMNS if c not in ("sample_id", "run_id")},
        "line_item_id": hex_ids(rng, m, 20),
        "usage_start_at": pa.array(hour[first.to_numpy()], TS),
        "product_code": pa.array(np.full(m, "AmazonEC2")),
        "usage_type": pc.binary_join_element_wise(
            pa.array(np.where(spot, "USE1-SpotUsage", "USE1-BoxUsage")),
            jobs["instance_type"].take(first), ":"),
        "resource_id": inst,
        "instance_type": jobs["instance_type"].take(first),
        "capacity": jobs["capacity"].take(first),
        "unblended_cost_usd": parents["hourly_max"],
    }
    runs = pc.unique(jobs["run_id"])
    month0 = int(jobs["submitted_at"].cast(pa.int64()).to_numpy().min())
    month0 -= month0 % (86400 * US_PER_S)
    days = 10
    r_take = pa.array(np.repeat(np.arange(len(runs)), days))
    first_job = pc.index_in(runs, jobs["run_id"])
    s3_tags = {c: jobs[c].take(first_job).take(r_take) for c in TAG_COLUMNS}
    k = len(runs) * days
    untagged = rng.random(k) < 0.03
    for c in TAG_COLUMNS:
        s3_tags[c] = pc.if_else(pa.array(untagged), pa.nulls(k, pa.string()), s3_tags[c])
    storage = {
        **s3_tags,
        "line_item_id": hex_ids(rng, k, 20),
        "usage_start_at": pa.array(month0 + np.tile(np.arange(days), len(runs)) * 86400
                                   * US_PER_S, TS),
        "product_code": pa.array(np.full(k, "AmazonS3")),
        "usage_type": pa.array(np.full(k, "USE1-TimedStorage-ByteHrs")),
        "resource_id": pa.array(np.full(k, "seqledger-lake")),
        "unblended_cost_usd": pa.array(rng.uniform(0.05, 0.4, k)),
    }
    out = []
    for cols in (split, parent, storage):
        rows = len(cols["line_item_id"])
        start_us = cols["usage_start_at"].cast(pa.int64())
        cols |= {
            "time_interval": pc.cast(start_us, pa.string()),
            "usage_end_at": pc.cast(pc.add(start_us, 3600 * US_PER_S), TS),
            "line_item_type": pa.array(np.full(rows, "Usage")),
            "export_format": pa.array(np.full(rows, "cur2")),
            "schema_version": pa.array(np.ones(rows, np.int16)),
            "recorded_at": pc.cast(pc.add(start_us, 86400 * US_PER_S), TS),
        }
        out.append(_full(cols, "billed_costs", rows))
    return pa.concat_tables(out)
