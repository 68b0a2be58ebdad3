"""The query engine: one small interface (``Engine``) with a DuckDB and an Athena implementation.

Analytics code asks an ``Engine`` for rows; ``open_engine(settings)`` picks DuckDB (in process,
over a local or S3 lake) or Athena (``SEQLEDGER_QUERY_ENGINE=athena``, tables and views in the
Glue catalog). Nothing above ``analytics/`` knows which one answered.

This module also builds the DuckDB side's connection (``connect``): one view per table,
deduplicated by key, plus the SQL views, each made when a query first names it. The SQL in
``analytics/sql`` is written once, in DuckDB's dialect and the subset it shares with Athena
(Trino); ``analytics.dialect`` transpiles it for Athena. Each file defines one view named after
the file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pyarrow as pa

from analytics.lazy_views import LazyConnection, Views
from analytics.rollups import Rollup, fact_files, rollup_groups
from analytics.rollups import create_view as create_rollup_view
from analytics.unreadable import create_view_skipping_unreadable
from lake.errors import ConfigError, TerminalError
from lake.schemas import TABLES, TableSpec
from lake.settings import Settings
from lake.store import COMPACTED_PREFIX, PART_PREFIX, LakeStore

if TYPE_CHECKING:
    import duckdb

# Athena's price: $5 per TB scanned, rounded up to the megabyte, 10 MB minimum per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024**2


# Parquet footers kept by a connection (see ``connect``); ``benchmarks/bench_connect.py`` turns it
# off for its baseline.
CACHE_FOOTERS = True
# Views made when a statement first names them (``connect``); ``benchmarks/bench_connect.py``
# turns it off for its baseline, which makes every view at connect as before.
LAZY = True


def athena_price_usd(bytes_scanned: int) -> float:
    """What Athena charges for one query that scanned ``bytes_scanned`` bytes."""
    mb = -(-max(bytes_scanned, 0) // 1024**2)  # rounded up to the megabyte
    return max(mb * 1024**2, ATHENA_MIN_BYTES) / 1024**4 * ATHENA_USD_PER_TB


class QueryError(TerminalError):
    """The SQL did not run: a syntax error, an unknown column or table, a type mismatch."""


@dataclass(frozen=True, slots=True)
class QueryStats:
    """One query as an engine ran it: the text it sent, time taken, and what it scanned."""

    engine: str
    sql: str
    seconds: float
    bytes_scanned: int | None = None  # None: the engine does not charge by bytes (DuckDB)
    query_id: str | None = None

    @property
    def cost_usd(self) -> float | None:
        return None if self.bytes_scanned is None else athena_price_usd(self.bytes_scanned)


@runtime_checkable
class Engine(Protocol):
    """What analytics code needs from a query engine. SQL is DuckDB's dialect, ``?`` params."""

    name: str
    stats: list[QueryStats]  # every query this engine ran, oldest first

    def table(self, sql: str, params: Sequence[Any] = (), limit: int | None = None) -> pa.Table:
        """The result of one SELECT as an Arrow table (at most ``limit`` rows)."""
        ...

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The result of one SELECT as plain Python values, one dict per row."""
        ...

    def close(self) -> None: ...


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def describe_query(s: QueryStats) -> str:
    """One line for one query: engine, time, and on Athena the bytes scanned and their price."""
    scan = ("" if s.bytes_scanned is None
            else f", {_size(s.bytes_scanned)} scanned, ${s.cost_usd:.6f}")
    qid = f" [{s.query_id}]" if s.query_id else ""
    return f"{s.engine}: {s.seconds:.2f} s{scan}{qid}"


def describe_queries(stats: Sequence[QueryStats]) -> str:
    """The total of several queries, for a footer: how many, time, bytes scanned and price."""
    if not stats:
        return "no query ran"
    engines = sorted({s.engine for s in stats})
    seconds = sum(s.seconds for s in stats)
    noun = "query" if len(stats) == 1 else "queries"
    text = f"{len(stats)} {'/'.join(engines)} {noun}, {seconds:.2f} s"
    scanned = [s for s in stats if s.bytes_scanned is not None]
    if scanned:
        total = sum(s.bytes_scanned or 0 for s in scanned)
        price = sum(s.cost_usd or 0 for s in scanned)
        text += f", {_size(total)} scanned, ${price:.6f} (Athena: $5/TB, 10 MB minimum per query)"
    return text


def open_engine(settings: Settings, store: LakeStore | None = None) -> Engine:
    """The engine ``settings.query_engine`` names, ready to query the lake's views."""
    if settings.query_engine == "athena":
        from analytics.athena import AthenaEngine

        return AthenaEngine.from_settings(settings)
    import duckdb

    from analytics.duckdb_engine import DuckDBEngine

    try:
        return DuckDBEngine(connect(settings, store))
    except duckdb.Error as e:  # a file DuckDB cannot read, an unreachable S3
        raise QueryError(f"the lake at {settings.lake_uri} could not be read: {e}") from e


def as_engine(source: Engine | duckdb.DuckDBPyConnection) -> Engine:
    """An engine as it is, or a DuckDB connection from ``connect`` wrapped as one."""
    if isinstance(source, Engine):
        return source
    from analytics.duckdb_engine import DuckDBEngine

    return DuckDBEngine(source)


COMPACTED = "compacted__"  # the column of a table's file source: the row is in a compacted file


def dedupe_sql(
    spec: TableSpec,
    source: str,
    compacted: str | None = None,
    tail_months: Iterable[str] = (),
) -> str:
    """Portable SQL keeping the latest row per natural key of ``spec`` from ``source``.

    ``compacted`` names a boolean column of ``source``, true for rows of a compacted file (one per
    month, keys unique: the store's naming rule), and ``tail_months`` the months that also have
    other files. Compacted rows of the other months are read as they are; only the tail months
    go through the window, compacted rows included, so a newer row in the tail still wins. Rows
    of files that appear after the months were listed are left out (never doubled) until the
    next listing.
    """
    # Within a month when a key never spans months: the month filter then reaches the files.
    keys = ", ".join(spec.key if spec.key_spans_months else ("month", *spec.key))
    cols = ", ".join([*spec.columns, "month"])
    # NULLS LAST spelled out: DuckDB and Athena agree on it, and Arrow's sort puts nulls last
    order = ", ".join(
        f"{c} DESC NULLS LAST" for c in (spec.order_by, *spec.tie_break, "recorded_at")
    )

    def window(where: str) -> str:
        return (
            f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {order}) AS rn__ FROM {source}{where}) WHERE rn__ = 1"
        )

    if compacted is None or spec.key_spans_months:
        # A key of these tables can sit in the compacted files of several months.
        return window("")
    tail = ", ".join(f"'{m}'" for m in sorted(set(tail_months)))
    if not tail:
        return f"SELECT {cols} FROM {source} WHERE {compacted}"
    return (
        f"SELECT {cols} FROM {source} WHERE {compacted} AND month NOT IN ({tail}) "
        f"UNION ALL {window(f' WHERE month IN ({tail})')}"
    )


def tail_months(con: duckdb.DuckDBPyConnection, store: LakeStore, name: str) -> list[str]:
    """Months of a table with uncompacted (``part-``) files: their names only, none is opened."""
    rows = con.execute(
        f"SELECT DISTINCT regexp_extract(file, 'month=([0-9]{{4}}-[0-9]{{2}})/', 1) "
        f"FROM glob({sql_string(f'{store.table_uri(name)}/month=*/{PART_PREFIX}*.parquet')})"
    ).fetchall()
    return sorted(m for (m,) in rows)


def view_sql() -> dict[str, str]:
    """The analytics views, name -> SELECT, in file-name order (prefix with NN_ to order)."""
    files = sorted(f for f in resources.files("analytics.sql").iterdir() if f.name.endswith(".sql"))
    views = {}
    for f in files:
        name = (
            f.name.removesuffix(".sql").split("_", 1)[1]
            if f.name[:2].isdigit()
            else f.name.removesuffix(".sql")
        )
        views[name] = f.read_text()
    return views


def _load_httpfs(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    from pathlib import Path

    import duckdb
    import duckdb_extension_httpfs

    ext = (
        Path(duckdb_extension_httpfs.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "httpfs.duckdb_extension"
    )
    # the wheel's binary: nothing is downloaded, nothing is written
    con.execute(f"LOAD {sql_string(str(ext))}")
    opts = settings.s3
    parts = ["TYPE s3", f"REGION {sql_string(opts.region)}"]
    keys = (opts.access_key, opts.secret_key, opts.session_token)
    if not (opts.access_key and opts.secret_key):
        keys = _default_chain_keys() or keys
    if keys[0] and keys[1]:
        parts += [f"KEY_ID {sql_string(keys[0])}", f"SECRET {sql_string(keys[1])}"]
        if keys[2]:
            parts += [f"SESSION_TOKEN {sql_string(keys[2])}"]
    else:
        parts += ["PROVIDER credential_chain"]
    if opts.endpoint_url:
        scheme, _, host = opts.endpoint_url.partition("://")
        parts += [
            f"ENDPOINT {sql_string(host)}",
            "URL_STYLE 'path'",
            f"USE_SSL {str(scheme == 'https').lower()}",
        ]
    try:
        con.execute(f"CREATE OR REPLACE SECRET seqledger_s3 ({', '.join(parts)})")
    except duckdb.Error as e:
        # DuckDB echoes the statement in its errors: never let the credentials reach a terminal.
        hidden = [v for v in (opts.secret_key, opts.session_token, opts.access_key) if v]
        raise ConfigError(f"DuckDB could not use the S3 settings: {redact(str(e), hidden)}") \
            from None


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal, its quotes doubled (a folder name may hold one)."""
    return "'" + value.replace("'", "''") + "'"


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (and its SQL-quoted spelling) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret.replace("'", "''"), "***").replace(secret, "***")
    return text


def _default_chain_keys() -> tuple[str, str, str | None] | None:
    """Keys from the AWS SDK's default chain: a profile, an ECS or Fargate task role, an instance
    profile. DuckDB's own ``credential_chain`` provider is in its aws extension, which no wheel
    ships and an offline task cannot download, so a job running under a role resolves it here."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


def connect(settings: Settings, store: LakeStore | None = None) -> LazyConnection:
    """An in-memory DuckDB with ``raw_<table>``, ``<table>`` (deduplicated), the rollup views and
    every SQL view, each created the first time a statement names it (``analytics.lazy_views``).

    Nothing is listed or opened to connect: a view is bound when first named, and binding reads
    the footers of its tables' files only. A table is checked for one data file, and its
    uncompacted months are found by a glob of its ``part-`` files (names only), when its view is
    made. The connection answers for each table's files as they were when its view was made (a
    file written later shows after reconnecting).

    Always DuckDB, whatever ``settings.query_engine`` says: the writers that read back what they
    just wrote (the QC gate, the demo) use it directly; reports go through ``open_engine``.
    """
    import duckdb

    store = store or LakeStore(settings)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Binding a view reads the footers of all its files (union_by_name), and every view over a
    # table binds it again; kept for the connection's life, each footer is read once. The
    # lake's files are never rewritten in place, so a cached footer cannot go stale. On the
    # seed-scale year, 1.24x faster (benchmarks/bench_connect.py).
    con.execute(f"SET parquet_metadata_cache = {str(CACHE_FOOTERS).lower()}")
    if settings.lake_is_s3:
        _load_httpfs(con, settings)
    views = Views()
    present: dict[str, bool] = {}  # per table, whether it had a file when its view was made
    for name, spec in TABLES.items():
        views.define([f"{name}__files"],
                     functools.partial(_create_files_view, spec, store, present))
        cols = ", ".join([*spec.columns, "month"])
        views.define([f"raw_{name}"], _view(f"raw_{name}", f"SELECT {cols} FROM {name}__files"))
        views.define([name], functools.partial(_create_dedupe_view, spec, store, present))
    for name, sql in view_sql().items():
        views.define([name], _view(name, sql))
    for rollups in rollup_groups():
        listed = _FactFiles(store, rollups[0].facts)  # once for the rollups of the same facts
        for r in rollups:
            views.define([r.view], functools.partial(_create_rollup_view, store, r, listed))
    lazy = LazyConnection(con, views)
    if not LAZY:  # every view now, as before (benchmarks/bench_connect.py's baseline)
        lazy.ensure(*views.names)
    return lazy


def _view(name: str, sql: str) -> Callable[[LazyConnection], None]:
    def create(con: LazyConnection) -> None:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    return create


def _create_files_view(
    spec: TableSpec, store: LakeStore, present: dict[str, bool], con: LazyConnection
) -> None:
    """``<table>__files``; a file DuckDB cannot read is left out, with a warning naming it."""
    present[spec.name] = store.has_files(spec.name)
    if not present[spec.name]:
        con.execute(f"CREATE OR REPLACE VIEW {spec.name}__files AS {files_sql(spec, store, False)}")
        return
    con.views.skipped += create_view_skipping_unreadable(
        con.raw, functools.partial(_files_view_sql, spec, store),
        store.table_uri(spec.name) + "/**/*.parquet",
        functools.partial(_file_uris, store, spec.name))


def _create_dedupe_view(
    spec: TableSpec, store: LakeStore, present: dict[str, bool], con: LazyConnection
) -> None:
    con.ensure(f"{spec.name}__files")  # which learns whether the table has a file
    has = present.get(spec.name)
    if has is None:  # its view made otherwise (a statement's own): list it here
        has = store.has_files(spec.name)
    tail = tail_months(con.raw, store, spec.name) if has else []
    sql = dedupe_sql(spec, f"{spec.name}__files", COMPACTED, tail)
    con.execute(f"CREATE OR REPLACE VIEW {spec.name} AS {sql}")


class _FactFiles:
    """``rollups.fact_files`` of some facts, listed when first asked, then kept: the rollup views
    of one connection decide their months from the same listing."""

    def __init__(self, store: LakeStore, facts: tuple[str, ...]) -> None:
        self.store, self.facts = store, facts
        self.files: dict[str, list[str]] | None = None

    def __call__(self, con: LazyConnection) -> dict[str, list[str]]:
        if self.files is None:
            self.files = fact_files(con.raw, self.store, self.facts)  # globs: no view needed
        return self.files


def _create_rollup_view(
    store: LakeStore, r: Rollup, listed: _FactFiles, con: LazyConnection
) -> None:
    # the views it reads are made as its statements name them
    create_rollup_view(con, store, r, listed(con))  # type: ignore[arg-type]


def files_sql(spec: TableSpec, store: LakeStore, present: bool, source: str | None = None) -> str:
    """Every row of a table's files, with ``month`` and ``compacted__`` (by the file's name).

    A typed empty relation written as SQL (so every cursor of the connection sees it) is the whole
    source when the table has no files yet, and the frame that gives files written before an
    additive schema change the columns they lack (as NULL).
    """
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(f.type)}) AS {f.name}" for f in spec.schema)
    typed = (
        f"SELECT {cols}, CAST(NULL AS VARCHAR) AS month, CAST(NULL AS BOOLEAN) AS {COMPACTED} "
        "WHERE false"
    )
    if not present:  # read_parquet fails on a glob that matches nothing
        return typed
    files = (
        f"SELECT * EXCLUDE (filename), filename LIKE '%/{COMPACTED_PREFIX}%' AS {COMPACTED} "
        f"FROM read_parquet({source or sql_string(store.table_uri(spec.name) + '/**/*.parquet')}, "
        "hive_partitioning = true, union_by_name = true, filename = true)"
    )
    return f"{typed} UNION ALL BY NAME {files}"


def _files_view_sql(spec: TableSpec, store: LakeStore, source: str | None) -> str:
    sql = files_sql(spec, store, source is not None, source)
    return f"CREATE OR REPLACE VIEW {spec.name}__files AS {sql}"


def _file_uris(store: LakeStore, name: str) -> list[str]:
    prefix = "s3://" if store.settings.lake_is_s3 else ""
    return [prefix + f for f in store.files(name)]


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type used in the lake's schemas."""
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    if pa.types.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})"
    simple = {
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.date32(): "DATE",
    }
    try:
        return simple[t]
    except KeyError:
        raise TypeError(f"no DuckDB type for Arrow {t}") from None
