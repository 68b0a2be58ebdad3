"""The rollups (``lake.schemas_rollup``): how a month is computed, kept current, and read.

A month of a rollup is computed from the facts by SQL over the same views the reports use
(``run_outcomes``, ``attempt_outcomes``, ``costs``), restricted to the months it needs, and written
whole over the month (``LakeStore.replace_month``): recomputing it changes nothing. Each row keeps
the digest of the fact files it came from. Readers go through one view per rollup (``runs_daily``,
``run_samples``, ``attempts_daily``, ``costs_monthly``) that takes the stored rows of every month
whose digest still matches the facts, and computes the other months from the facts on the spot,
so a report is never stale, only slower until ``seqledger lake rollup`` (or compaction) runs.

Runs and attempts are counted in the month of their latest state; computing month M reads the facts
of M and the months either side. That is exact as long as a run, its attempts and their decisions
fall within two consecutive months (DRAGEN runs take hours; a run of weeks spanning three months
would be counted with the attempts and first status seen in those three).

QC rollups count a gated run with its latest verdict on the day the QC page counts it (the run's
current status, else the gate's time). A re-gate replaces the older verdict in whatever month it
falls, so a QC month reads ``qc_results`` of that month and every later one (``later``) and ``runs``
of every month up to the one after it (``earlier``: a run re-gated long after it finished is still
counted on its own day). Its digest covers the same files: a re-gate in month 3 makes month 1 stale,
and ``seqledger lake rollup --stale`` recounts it. Billed spend is summed per month of usage from
``billed_allocated`` (split rows share an hour with their instance: never across a month).
Savings are summed per month of usage, and net of retries needs each attempt's reclaim decision,
recorded when the attempt ended: a savings month reads ``decisions`` of the month after too
(``next_month``), so a reclaim decided just past the month's end makes that month stale.

A month that gives no row keeps a zero-row file named by its digest
(``LakeStore.mark_empty_month``), so it reads as current rather than as never computed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from analytics import cost_rollups, failure_rollups, run_rollups
from lake.schemas import table
from lake.schemas_rollup import RELEASE_METRICS
from lake.store import EMPTY_PREFIX, LakeStore

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Rollup:
    """A stored rollup, the facts it is computed from, and the view that reads it."""

    table: str  # the lake table holding it
    view: str  # the view reports read: stored months that are current, the rest from facts
    facts: tuple[str, ...]  # the fact tables whose files it summarises
    reach: int  # months either side of a month whose facts it reads
    sql: str  # SELECT of its rows from views prefixed {p}, for months in ({target})
    views: tuple[str, ...] = ()  # views of analytics/sql it reads, over the same months' facts
    earlier: tuple[str, ...] = ()  # facts it reads in every month before too
    later: tuple[str, ...] = ()  # facts it reads in every month after too
    next_month: tuple[str, ...] = ()  # facts it reads in the month after too
    needs: str | None = None  # a fact without which it has no row (no file: no month to keep)


_OUTCOME_VIEWS = ("run_latest", "attempt_outcomes", "run_outcomes")
_OUTCOME_FACTS = ("runs", "job_attempts", "decisions")
_QC_VIEWS = ("run_latest", "qc_verdicts", "qc_gated")
_BILLED_VIEWS = ("billed_lines", "billed_allocated")
_QC_FACTS = ("runs", "qc_results")

ROLLUPS = (
    Rollup(
        "rollup_runs_daily",
        "runs_daily",
        _OUTCOME_FACTS,
        1,
        """
        SELECT date_trunc('day', o.status_at) AS day_at, o.status, o.project, o.workflow,
               o.pipeline_release, o.executor, o.reason, count(*) AS runs,
               CAST(sum(o.attempts) AS BIGINT) AS attempts,
               CAST(sum(o.spot_reclaims) AS BIGINT) AS spot_reclaims,
               sum(CASE WHEN o.status IN ('SUCCEEDED', 'FAILED')
                        THEN CAST(date_diff('second', f.first_at, o.status_at) AS DOUBLE)
                   END) AS turnaround_s
        FROM {p}run_outcomes o
        LEFT JOIN (SELECT run_id, min(status_at) AS first_at FROM {p}runs GROUP BY run_id) f
               ON f.run_id = o.run_id
        WHERE strftime(o.status_at, '%Y-%m') IN ({target})
        GROUP BY date_trunc('day', o.status_at), o.status, o.project, o.workflow,
                 o.pipeline_release, o.executor, o.reason""",
        _OUTCOME_VIEWS,
    ),
    Rollup(
        "rollup_run_samples_monthly",
        "run_samples",
        _OUTCOME_FACTS,
        1,
        """
        SELECT date_trunc('month', o.status_at) AS month_at, o.sample_id, count(*) AS runs
        FROM {p}run_outcomes o
        WHERE strftime(o.status_at, '%Y-%m') IN ({target})
        GROUP BY date_trunc('month', o.status_at), o.sample_id""",
        _OUTCOME_VIEWS,
    ),
    Rollup(
        "rollup_attempts_daily",
        "attempts_daily",
        _OUTCOME_FACTS,
        1,
        """
        SELECT date_trunc('day', a.status_at) AS day_at, a.status, a.project, a.capacity,
               a.instance_type, a.job_queue, a.failure_kind, a.spot_reclaim,
               (a.run_id IS NULL OR a.run_id NOT IN (SELECT run_id FROM {p}run_outcomes))
                   AS orphan,
               count(*) AS attempts
        FROM {p}attempt_outcomes a
        WHERE strftime(a.status_at, '%Y-%m') IN ({target})
        GROUP BY date_trunc('day', a.status_at), a.status, a.project, a.capacity,
                 a.instance_type, a.job_queue, a.failure_kind, a.spot_reclaim,
                 (a.run_id IS NULL OR a.run_id NOT IN (SELECT run_id FROM {p}run_outcomes))""",
        _OUTCOME_VIEWS,
    ),
    Rollup(
        "rollup_costs_monthly",
        "costs_monthly",
        ("costs",),
        0,
        """
        SELECT date_trunc('month', usage_start_at) AS month_at, project, workflow,
               pipeline_release, requested_by, cost_centre, component, capacity, instance_type,
               price_status, sum(cost_usd) AS cost_usd, count(*) AS line_count,
               count(CASE WHEN cost_usd IS NULL THEN 1 END) AS unpriced_rows,
               count(CASE WHEN price_status = 'approximate' THEN 1 END) AS approximate_rows
        FROM {p}costs
        WHERE month IN ({target})
        GROUP BY date_trunc('month', usage_start_at), project, workflow, pipeline_release,
                 requested_by, cost_centre, component, capacity, instance_type, price_status""",
    ),
    Rollup(
        "rollup_qc_verdicts_daily",
        "qc_verdicts_daily",
        _QC_FACTS,
        1,
        """
        SELECT date_trunc('day', g.counted_at) AS day_at, g.verdict, g.project, g.workflow,
               g.cost_centre, g.pipeline_release, count(*) AS runs
        FROM {p}qc_gated g
        WHERE strftime(g.counted_at, '%Y-%m') IN ({target})
        GROUP BY date_trunc('day', g.counted_at), g.verdict, g.project, g.workflow,
                 g.cost_centre, g.pipeline_release""",
        _QC_VIEWS,
        earlier=_QC_FACTS,
        later=("qc_results",),
        needs="qc_results",
    ),
    # The overview's QC figures count the latest gate on its own day, not on the run's.
    Rollup(
        "rollup_qc_gates_daily",
        "qc_gates_daily",
        ("qc_results",),
        0,
        """
        SELECT date_trunc('day', v.evaluated_at) AS day_at, v.suite, v.verdict, v.project,
               count(*) AS runs
        FROM {p}qc_verdicts v
        WHERE strftime(v.evaluated_at, '%Y-%m') IN ({target})
        GROUP BY date_trunc('day', v.evaluated_at), v.suite, v.verdict, v.project""",
        ("qc_verdicts",),
        later=("qc_results",),
        needs="qc_results",
    ),
    # The Releases page's runs (analytics.releases): cost, verdict and QC metrics per run.
    Rollup(
        "rollup_release_runs_monthly",
        "release_runs",
        ("runs", "costs", "qc_results", "qc_metrics"),
        1,
        f"""
        WITH cost AS (SELECT run_id, sum(cost_usd) AS cost_usd FROM {{p}}costs GROUP BY run_id)
        SELECT r.status_at, r.pipeline_release, r.sample_id, r.run_id, r.project, r.cost_centre,
               r.workflow, r.status, v.verdict, c.cost_usd,
               q.total_runtime_s / 3600.0 AS runtime_h,
               {", ".join(f"CAST(q.{m} AS DOUBLE) AS {m}" for m in RELEASE_METRICS)}
        FROM {{p}}run_latest r
        LEFT JOIN cost c ON c.run_id = r.run_id
        LEFT JOIN {{p}}qc_verdicts v ON v.run_id = r.run_id AND v.suite = 'sample_qc'
        LEFT JOIN {{p}}sample_qc q ON q.run_id = r.run_id
        WHERE r.pipeline_release IS NOT NULL
          AND strftime(r.status_at, '%Y-%m') IN ({{target}})""",
        ("run_latest", "qc_verdicts", "sample_qc"),
        later=("qc_results",),
    ),
    # The Runs page's turnaround (analytics.run_rollups): one row per run with a QC verdict.
    Rollup(
        "rollup_run_turnaround_monthly",
        "run_turnaround",
        ("runs", "job_attempts", "qc_results", "arrivals"),
        1,
        run_rollups.RUN_TURNAROUND,
        earlier=("runs", "job_attempts", "arrivals"),
        later=("qc_results",),
        needs="qc_results",
    ),
    Rollup(
        "rollup_qc_metrics_monthly",
        "qc_metrics_monthly",
        _QC_FACTS,
        1,
        """
        SELECT date_trunc('month', g.counted_at) AS month_at, g.project, g.pipeline_release,
               c.check_id, c.metric_id, c.threshold, c.severity, count(*) AS runs,
               count(CASE WHEN c.passed THEN 1 END) AS passed,
               min(c.observed_value) AS min_value,
               quantile_cont(c.observed_value, 0.1) AS p10_value,
               quantile_cont(c.observed_value, 0.5) AS p50_value,
               quantile_cont(c.observed_value, 0.9) AS p90_value,
               max(c.observed_value) AS max_value
        FROM {p}qc_gated g
        JOIN {p}qc_results c ON c.run_id = g.run_id AND c.suite = 'sample_qc'
                            AND c.evaluated_at = g.evaluated_at
        WHERE strftime(g.counted_at, '%Y-%m') IN ({target})
          AND c.check_id <> 'overall' AND c.observed_value IS NOT NULL
        GROUP BY date_trunc('month', g.counted_at), g.project, g.pipeline_release, c.check_id,
                 c.metric_id, c.threshold, c.severity""",
        _QC_VIEWS,
        earlier=_QC_FACTS,
        later=("qc_results",),
        needs="qc_results",
    ),
    Rollup(
        "rollup_billed_monthly",
        "billed_monthly",
        ("billed_costs",),
        0,
        """
        SELECT date_trunc('month', usage_start_at) AS month_at, project, workflow,
               pipeline_release, requested_by, cost_centre, allocation, product_code, capacity,
               instance_type, sum(cost_usd ORDER BY cost_usd) AS cost_usd,
               count(*) AS line_count
        FROM {p}billed_allocated
        WHERE month IN ({target})
        GROUP BY date_trunc('month', usage_start_at), project, workflow, pipeline_release,
                 requested_by, cost_centre, allocation, product_code, capacity, instance_type""",
        _BILLED_VIEWS,
        needs="billed_costs",
    ),
    # The Failures and Spot page's (analytics.failure_rollups says what each counts and when).
    Rollup(
        "rollup_attempt_ends_daily",
        "attempt_ends",
        ("job_attempts", "decisions", "billed_costs"),
        1,
        failure_rollups.ATTEMPT_ENDS,
    ),
    Rollup("rollup_retried_runs_daily", "retried_runs", _OUTCOME_FACTS, 1,
           failure_rollups.RETRIED_RUNS, _OUTCOME_VIEWS),
    Rollup(
        "rollup_attempt_costs_daily",
        "attempt_costs",
        ("costs", "job_attempts", "decisions"),
        1,
        failure_rollups.ATTEMPT_COSTS,
    ),
    # The Cost page's cost per sample (analytics.cost_rollups).
    Rollup("rollup_sample_costs_monthly", "sample_costs", ("costs",), 0,
           cost_rollups.SAMPLE_COSTS),
    Rollup("rollup_cost_prices_monthly", "cost_prices", ("costs",), 0,
           cost_rollups.PRICE_SOURCES),
    # The Cost page per day (analytics.cost_trends.over_time).
    Rollup("rollup_costs_daily", "costs_daily", ("costs",), 0, cost_rollups.COSTS_DAILY),
    Rollup("rollup_billed_daily", "billed_daily", ("billed_costs",), 0, cost_rollups.BILLED_DAILY,
           _BILLED_VIEWS, needs="billed_costs"),
    # Reads the savings view (analytics/sql), so connect() makes the rollup views after those.
    # Net of retries joins an attempt's costs (the month its usage started) with its reclaim
    # decision, recorded when the attempt ended: in the month after, for one that ran across.
    Rollup("rollup_savings_monthly", "savings_monthly",
           ("costs", "decisions", "billed_costs", "storage", "prices"), 0, cost_rollups.SAVINGS,
           next_month=("decisions",)),
)
BY_TABLE = {r.table: r for r in ROLLUPS}


def _view_sql(names: Iterable[str]) -> dict[str, str]:
    """The SQL of views of ``analytics/sql`` by name, in the order given."""
    files = {f.name: f for f in resources.files("analytics.sql").iterdir()}
    out = {}
    for name in names:
        (fname,) = [n for n in files if re.fullmatch(rf"\d\d_{name}\.sql", n)]
        out[name] = files[fname].read_text()
    return out


def _scoped(sql: str, p: str, names: Iterable[str]) -> str:
    """A view's SQL reading ``{p}<name>`` for each of ``names`` it reads."""
    alternatives = "|".join(names)
    return re.sub(rf"\b(FROM|JOIN)(\s+)({alternatives})\b", rf"\1\2{p}\3", sql)


def reads(r: Rollup, fact: str, month: str, targets: Iterable[str]) -> bool:
    """Whether computing ``r`` for the ``targets`` months reads ``fact`` in ``month``."""
    targets = sorted(targets)
    return (
        month in around(targets, r.reach)
        or (fact in r.later and month > targets[-1])
        or (fact in r.next_month and month in {shift(t, 1) for t in targets})
        or (fact in r.earlier and month < targets[0])
    )


def _scope(r: Rollup, fact: str, targets: list[str]) -> str:
    """``reads`` as a SQL condition on the ``month`` column (matches nothing without targets)."""
    conds = [f"month IN ({_in(around(targets, r.reach))})"]
    if targets and fact in r.next_month:
        conds.append(f"month IN ({_in({shift(t, 1) for t in targets})})")
    if targets and fact in r.later:
        conds.append(f"month > '{max(targets)}'")
    if targets and fact in r.earlier:
        conds.append(f"month < '{min(targets)}'")
    return " OR ".join(conds)


def scope_views(p: str, r: Rollup, targets: Iterable[str]) -> list[tuple[str, str]]:
    """Views named ``{p}…``: ``r``'s facts in the months it reads for ``targets``, and the views of
    ``analytics/sql`` it reads, over them."""
    targets = sorted(targets)
    views = [(f"{p}{f}", f"SELECT * FROM {f} WHERE {_scope(r, f, targets)}") for f in r.facts]
    names = (*r.facts, *r.views)
    return views + [(f"{p}{v}", _scoped(sql, p, names)) for v, sql in _view_sql(r.views).items()]


def outcomes_within(months: Iterable[str], p: str = "within__") -> str:
    """A ``WITH`` clause defining ``{p}run_outcomes`` (and the views it reads) over the facts of
    ``months`` and the months either side: the rollups' own rule, so a query of one month's runs
    reads three months of facts, not all of them (on Athena, three partitions of each table)."""
    views = scope_views(p, BY_TABLE["rollup_runs_daily"], months)
    return "WITH " + ",\n".join(f"{name} AS ({sql})" for name, sql in views)


def shift(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (both ``YYYY-MM``)."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def around(months: Iterable[str], reach: int) -> list[str]:
    """``months`` and those within ``reach`` of them, sorted."""
    return sorted({shift(m, k) for m in months for k in range(-reach, reach + 1)})


def _in(months: Iterable[str]) -> str:
    """A SQL list of months for ``month IN (…)``; a list that matches nothing when empty."""
    quoted = ", ".join(f"'{m}'" for m in sorted(months))
    return quoted or "NULL"


def fact_files(
    con: duckdb.DuckDBPyConnection, store: LakeStore, facts: Iterable[str]
) -> dict[str, list[str]]:
    """Per month, the names (``table/month=…/file``) of the data files of the ``facts`` tables.

    One glob per table in DuckDB, which also reads S3: the names only, no file is opened.
    """
    from analytics.engine import sql_string  # engine builds the rollup views: import late

    out: dict[str, list[str]] = {}
    for name in facts:
        rows = con.execute(
            f"SELECT regexp_extract(file, 'month=([0-9]{{4}}-[0-9]{{2}})/', 1), "
            f"regexp_extract(file, 'month=[0-9-]+/[^/]+$') "
            f"FROM glob({sql_string(store.table_uri(name) + '/month=*/*.parquet')})"
        ).fetchall()
        for month, file in rows:
            out.setdefault(month, []).append(f"{name}/{file}")
    return out


def digests(files: dict[str, list[str]], r: Rollup) -> dict[str, str]:
    """Per month with facts, the hash of the fact files a month of ``r`` is computed from."""
    out = {}
    for month in files:
        names = sorted(
            f for m, fs in files.items() for f in fs if reads(r, f.split("/", 1)[0], m, [month])
        )
        out[month] = hashlib.sha256("\n".join(names).encode()).hexdigest()[:24]
    return out


def months_of(
    con: duckdb.DuckDBPyConnection, store: LakeStore
) -> dict[Rollup, tuple[list[str], list[str]]]:
    """Per rollup, its current months (stored rows match the facts) and its stale ones."""
    return {r: split for rollups in rollup_groups()
            for r, split in _group_months(con, store, rollups)}


def _group_months(
    con: duckdb.DuckDBPyConnection, store: LakeStore, rollups: list[Rollup]
) -> list[tuple[Rollup, tuple[list[str], list[str]]]]:
    """``months_of`` for one group of ``rollup_groups``: their facts are globbed once."""
    files = fact_files(con, store, rollups[0].facts)
    return [(r, _months(con, store, r, files)) for r in rollups]


def _months(
    con: duckdb.DuckDBPyConnection, store: LakeStore, r: Rollup, files: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    """The current and stale months of ``r``, given ``fact_files`` of its facts."""
    if r.needs and not any(f.startswith(f"{r.needs}/") for m in files for f in files[m]):
        return [], []  # a lake without QC (or without a bill) has no such month
    current = digests(files, r)
    stored = dict(
        con.execute(
            f"SELECT month, CASE WHEN min(source_digest) = max(source_digest) "
            f"THEN min(source_digest) END FROM {r.table} GROUP BY month"
        ).fetchall()
    )
    stored = _empty_marks(con, store, r) | stored
    fresh = sorted(m for m, d in current.items() if stored.get(m) == d)
    return fresh, sorted(set(current) - set(fresh))


def _empty_marks(con: duckdb.DuckDBPyConnection, store: LakeStore, r: Rollup) -> dict[str, str]:
    """Per month of ``r`` computed to no rows, the digest its marker file is named by."""
    from analytics.engine import sql_string

    rows = con.execute(
        f"SELECT regexp_extract(file, 'month=([0-9]{{4}}-[0-9]{{2}})/', 1), "
        f"regexp_extract(file, '{EMPTY_PREFIX}([0-9a-f]+)[.]parquet$', 1) "
        f"FROM glob({sql_string(store.table_uri(r.table) + f'/month=*/{EMPTY_PREFIX}*.parquet')})"
    ).fetchall()
    return dict(rows)


def stale_months(con: duckdb.DuckDBPyConnection, store: LakeStore) -> dict[str, list[str]]:
    """``{rollup table: months}`` for the rollups that facts have changed since (or never had)."""
    return {r.table: stale for r, (_, stale) in months_of(con, store).items() if stale}


def rollup_groups() -> list[list[Rollup]]:
    """The rollups that read the same facts in the same months (their fact files are the same),
    each group in ``ROLLUPS``' order."""
    groups: dict[tuple, list[Rollup]] = {}
    for r in ROLLUPS:
        key = (r.facts, r.reach, r.views, r.earlier, r.later, r.next_month)
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def stored_columns(r: Rollup) -> list[str]:
    """The columns a rollup's view gives: its table's, without the digest, and ``month``."""
    spec = table(r.table)
    return [*spec.columns[: spec.columns.index("source_digest")], "month"]


def stored_view_sql(r: Rollup) -> str:
    """The view of a rollup on Athena: the stored rows of every month, as they are.

    Athena cannot decide which months are current (that takes the fact files' names, which a
    view cannot list), so its views read what ``seqledger lake rollup`` (or compaction, which
    runs it) last wrote: a month whose facts changed since is stale there until the rollup runs
    again, and ``seqledger status`` names such months. DuckDB's views (``create_view``) give
    the facts' answer either way.
    """
    return f"SELECT {', '.join(stored_columns(r))} FROM {r.table}"


def create_view(
    con: duckdb.DuckDBPyConnection, store: LakeStore, r: Rollup,
    files: dict[str, list[str]] | None = None,
) -> None:
    """The read side of one rollup: its stored months that are current, the others from facts
    (and the views over the facts of its stale months). Which months are current is decided
    from the names of the fact files (nothing is opened) when the view is made: a connection
    answers for the lake as it was then, like its table views. ``files`` is ``fact_files`` of
    its facts, when already listed. ``con`` must have, or make as named
    (``analytics.lazy_views``), the views they read."""
    files = fact_files(con, store, r.facts) if files is None else files
    fresh, stale = _months(con, store, r, files)
    spec = table(r.table)
    sql = f"{stored_view_sql(r)} WHERE month IN ({_in(fresh)})"
    if stale:
        p = f"{r.view}__stale__"
        for name, scoped in scope_views(p, r, stale):
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {scoped}")
        computed = r.sql.format(p=p, target=_in(stale))
        sql += (
            f" UNION ALL BY NAME SELECT *, strftime({spec.time_column}, '%Y-%m') "
            f"AS month FROM ({computed}) c"
        )
    con.execute(f"CREATE OR REPLACE VIEW {r.view} AS {sql}")


def compute(
    con: duckdb.DuckDBPyConnection, store: LakeStore, rollup: Rollup, month: str
) -> pa.Table:
    """A month of a rollup computed from the facts, with the digest of the files it read (a
    column, and the schema's metadata ``source_digest`` for a month that gives no row)."""
    # Named before the facts are read: a file added meanwhile leaves the month stale, not wrong.
    digest = digests(fact_files(con, store, rollup.facts), rollup).get(month, "")
    p = f"{rollup.view}__m__"
    for name, sql in scope_views(p, rollup, [month]):
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    rows = _defined_nulls(con.execute(rollup.sql.format(p=p, target=_in([month]))).to_arrow_table())
    import pyarrow as pa

    rows = rows.append_column("source_digest", pa.array([digest] * rows.num_rows, pa.string()))
    return rows.replace_schema_metadata({"source_digest": digest})


def _defined_nulls(tbl: pa.Table) -> pa.Table:
    """``tbl`` with zeros under its null numbers and times.

    DuckDB leaves whatever bytes were there under a null; the store names a month's file by a
    hash of its bytes, so the same rows must give the same bytes for a refresh that changes
    nothing to write nothing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(tbl.schema):
        t = field.type
        if tbl.column(i).null_count == 0 or not (
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t)
        ):
            continue
        col = tbl.column(i).combine_chunks()
        filled = pc.fill_null(col, pa.scalar(0, t) if not pa.types.is_timestamp(t)
                              else pa.scalar(0, pa.int64()).cast(t))
        fixed = pa.Array.from_buffers(t, len(col), [col.buffers()[0], filled.buffers()[1]],
                                      offset=0) if col.offset == 0 else col
        tbl = tbl.set_column(i, field, fixed)
    return tbl


def fact_months(store: LakeStore, rollup: Rollup) -> set[str]:
    """Months that have facts for a rollup, or a stored rollup month."""
    if rollup.needs and not store.has_files(rollup.needs) and not store.has_files(rollup.table):
        return set()
    months = set()
    for name in (*rollup.facts, rollup.table):
        months |= {f.split("/month=")[1].split("/")[0] for f in store.files(name)}
    return months


def refresh(
    con: duckdb.DuckDBPyConnection,
    store: LakeStore,
    months: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Recompute rollups for ``months`` (default: every month; or ``{rollup table: months}``, as
    ``stale_months`` gives, for only those); ``{table/month: rows}``.

    Facts written in a month also change the runs and attempts counted in the months beside it
    (a run is counted in the month it reached its current state): pass ``months_touched``.
    """
    done = {}
    for r in ROLLUPS:
        if isinstance(months, Mapping):
            wanted = sorted(months.get(r.table, ()))
        else:
            wanted = sorted(fact_months(store, r) if months is None else set(months))
        for month in wanted:
            rows = compute(con, store, r, month)
            digest = (rows.schema.metadata or {}).get(b"source_digest", b"").decode()
            if rows.num_rows or not digest:
                store.replace_month(r.table, month, rows)
            else:  # no row to carry the digest: a marker says the month is current, not missing
                store.mark_empty_month(r.table, month, digest)
            done[f"{r.table}/{month}"] = rows.num_rows
            if progress:
                progress(f"{r.table}/{month}: {rows.num_rows:,} rows")
    return done


def months_touched(months: Iterable[str]) -> list[str]:
    """The months whose outcome and cost rollups facts written in ``months`` can change (each and
    either side). The QC rollups read every later month of ``qc_results``: find theirs with
    ``stale_months``."""
    return around(months, max(r.reach for r in ROLLUPS))
