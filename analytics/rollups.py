"""The rollups (``lake.schemas_rollup``): how a month is computed, kept current, and read.

A month of a rollup is computed from the facts by SQL over the same views the reports use
(``run_outcomes``, ``attempt_outcomes``, ``costs``), restricted to the months it needs, and written
whole over the month (``LakeStore.replace_month``): recomputing it changes nothing. Each row keeps
the digest of the fact files it came from. Readers go through one view per rollup (``runs_daily``,
``run_samples``, ``attempts_daily``, ``costs_daily``) that takes the stored rows of every month
whose digest still matches the facts, and computes the other months from the facts on the spot,
so a report is never stale, only slower until ``seqledger lake rollup`` (or compaction) runs.

Runs and attempts are counted in the month of their latest state; computing month M reads the facts
of M and the months either side. That is exact as long as a run, its attempts and their decisions
fall within two consecutive months (DRAGEN runs take hours; a run of weeks spanning three months
would be counted with the attempts and first status seen in those three).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from lake.schemas import table
from lake.store import LakeStore

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


_OUTCOME_VIEWS = ("run_latest", "attempt_outcomes", "run_outcomes")
_OUTCOME_FACTS = ("runs", "job_attempts", "decisions")

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
    ),
    Rollup(
        "rollup_costs_daily",
        "costs_daily",
        ("costs",),
        0,
        """
        SELECT date_trunc('day', usage_start_at) AS day_at, project, workflow, pipeline_release,
               requested_by, cost_centre, component, capacity, instance_type, price_status,
               sum(cost_usd) AS cost_usd, count(*) AS line_count,
               count(CASE WHEN cost_usd IS NULL THEN 1 END) AS unpriced_rows,
               count(CASE WHEN price_status = 'approximate' THEN 1 END) AS approximate_rows
        FROM {p}costs
        WHERE month IN ({target})
        GROUP BY date_trunc('day', usage_start_at), project, workflow, pipeline_release,
                 requested_by, cost_centre, component, capacity, instance_type, price_status""",
    ),
)
BY_TABLE = {r.table: r for r in ROLLUPS}


def _outcome_sql() -> dict[str, str]:
    files = {f.name: f for f in resources.files("analytics.sql").iterdir()}
    out = {}
    for name in _OUTCOME_VIEWS:
        (fname,) = [n for n in files if re.fullmatch(rf"\d\d_{name}\.sql", n)]
        out[name] = files[fname].read_text()
    return out


def _scoped(sql: str, p: str) -> str:
    """A view's SQL reading ``{p}<name>`` for the facts and outcome views it reads."""
    names = "|".join((*_OUTCOME_FACTS, *_OUTCOME_VIEWS, "costs"))
    return re.sub(rf"\b(FROM|JOIN)(\s+)({names})\b", rf"\1\2{p}\3", sql)


def scope_views(p: str, around: str) -> list[tuple[str, str]]:
    """Views named ``{p}…``: the facts of the months ``around`` selects, and outcomes over them."""
    views = [
        (f"{p}{name}", f"SELECT * FROM {name} WHERE month IN ({around})")
        for name in (*_OUTCOME_FACTS, "costs")
    ]
    views += [(f"{p}{name}", _scoped(sql, p)) for name, sql in _outcome_sql().items()]
    return views


def _shift(month_sql: str, months: int) -> str:
    return f"strftime(CAST({month_sql} || '-01' AS DATE) + INTERVAL ({months}) MONTH, '%Y-%m')"


def around_sql(target: str, reach: int) -> str:
    """The months within ``reach`` of the months ``target`` selects (a SELECT of ``month``)."""
    parts = [f"SELECT month FROM ({target}) t"]
    parts += [
        f"SELECT {_shift('month', k)} AS month FROM ({target}) t"
        for k in range(-reach, reach + 1)
        if k
    ]
    return " UNION ".join(parts)


def digest_sql(store: LakeStore, rollup: Rollup) -> str:
    """``month, digest``: per month of facts, a hash of the names of the fact files it reads."""
    files = " UNION ALL ".join(
        f"SELECT '{name}/' || regexp_extract(file, 'month=[0-9-]+/[^/]+$') AS file, "
        f"regexp_extract(file, 'month=([0-9]{{4}}-[0-9]{{2}})/', 1) AS month "
        f"FROM glob('{store.table_uri(name)}/month=*/*.parquet')"
        for name in rollup.facts
    )
    per_month = (
        f"SELECT month, string_agg(file, ',' ORDER BY file) AS files FROM ({files}) f "
        "GROUP BY month"
    )
    if rollup.reach == 0:
        return f"SELECT month, md5(files) AS digest FROM ({per_month}) m"
    joins, parts = [], []
    for k in range(-rollup.reach, rollup.reach + 1):
        if k == 0:
            parts.append("m.files")
            continue
        alias = f"n{k + rollup.reach}"
        joins.append(f"LEFT JOIN ({per_month}) {alias} ON {alias}.month = {_shift('m.month', k)}")
        parts.append(f"coalesce({alias}.files, '')")
    joined = " || '|' || ".join(parts)
    return f"SELECT m.month, md5({joined}) AS digest FROM ({per_month}) m {' '.join(joins)}"


def create_views(con: duckdb.DuckDBPyConnection, store: LakeStore) -> None:
    """The read side: per rollup, the current stored months, plus the stale ones from facts."""
    for r in ROLLUPS:
        spec = table(r.table)
        cols = ", ".join([*spec.columns[: spec.columns.index("source_digest")], "month"])
        con.execute(f"CREATE VIEW {r.view}__digest AS {digest_sql(store, r)}")
        con.execute(
            f"CREATE VIEW {r.view}__fresh AS SELECT s.month FROM (SELECT month, "
            f"min(source_digest) AS lo, max(source_digest) AS hi FROM {r.table} GROUP BY month) s "
            f"JOIN {r.view}__digest d ON d.month = s.month AND d.digest = s.lo AND s.lo = s.hi"
        )
        stale = (
            f"SELECT month FROM {r.view}__digest "
            f"WHERE month NOT IN (SELECT month FROM {r.view}__fresh)"
        )
        p = f"{r.view}__stale__"
        for name, sql in scope_views(p, around_sql(stale, r.reach)):
            con.execute(f"CREATE VIEW {name} AS {sql}")
        computed = r.sql.format(p=p, target=stale)
        con.execute(
            f"CREATE VIEW {r.view} AS "
            f"SELECT {cols} FROM {r.table} WHERE month IN (SELECT month FROM {r.view}__fresh) "
            f"UNION ALL BY NAME SELECT *, strftime({spec.time_column}, '%Y-%m') AS month "
            f"FROM ({computed}) c"
        )


def compute(
    con: duckdb.DuckDBPyConnection, store: LakeStore, rollup: Rollup, month: str
) -> pa.Table:
    """A month of a rollup computed from the facts, with the digest of the files it read."""
    (digest,) = con.execute(
        f"SELECT coalesce(max(digest), '') FROM ({digest_sql(store, rollup)}) d WHERE month = ?",
        [month],
    ).fetchone()  # before the facts are read: a file added meanwhile makes the month stale
    p = f"{rollup.view}__m__"
    target = f"SELECT '{month}' AS month"
    for name, sql in scope_views(p, around_sql(target, rollup.reach)):
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    rows = con.execute(rollup.sql.format(p=p, target=f"'{month}'")).to_arrow_table()
    import pyarrow as pa

    return rows.append_column("source_digest", pa.array([digest] * rows.num_rows, pa.string()))


def fact_months(store: LakeStore, rollup: Rollup) -> set[str]:
    """Months that have facts for a rollup, or a stored rollup month."""
    months = set()
    for name in (*rollup.facts, rollup.table):
        months |= {f.split("/month=")[1].split("/")[0] for f in store.files(name)}
    return months


def refresh(
    con: duckdb.DuckDBPyConnection, store: LakeStore, months: Iterable[str] | None = None
) -> dict[str, int]:
    """Recompute rollups for ``months`` (default: every month); ``{table/month: rows}``.

    A month whose facts changed also changes its neighbours' runs and attempts (a run counted in
    the month it finished): pass them too, or use ``months_touched``.
    """
    done = {}
    for r in ROLLUPS:
        wanted = sorted(fact_months(store, r) if months is None else set(months))
        for month in wanted:
            rows = compute(con, store, r, month)
            store.replace_month(r.table, month, rows)
            done[f"{r.table}/{month}"] = rows.num_rows
    return done


def months_touched(months: Iterable[str]) -> set[str]:
    """The months whose rollups facts written in ``months`` can change (each and either side)."""
    out = set()
    for m in months:
        year, mon = int(m[:4]), int(m[5:7])
        index = year * 12 + mon - 1
        out |= {f"{(index + k) // 12:04d}-{(index + k) % 12 + 1:02d}" for k in (-1, 0, 1)}
    return out
