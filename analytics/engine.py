"""A DuckDB connection over the lake: one view per table, deduplicated by key, plus the SQL views.

The SQL in ``analytics/sql`` is written once, in the subset of SQL that DuckDB and Athena (Trino)
share: no QUALIFY, no DuckDB-only functions. Each file defines one view named after the file.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import pyarrow as pa

from lake.errors import ConfigError
from lake.schemas import TABLES, TableSpec
from lake.settings import Settings
from lake.store import LakeStore

if TYPE_CHECKING:
    import duckdb


def dedupe_sql(spec: TableSpec, source: str) -> str:
    """Portable SQL keeping the latest row per natural key of ``spec`` from ``source``."""
    # Within a month when a key never spans months: the month filter then reaches the files.
    keys = ", ".join(spec.key if spec.key_spans_months else ("month", *spec.key))
    cols = ", ".join([*spec.columns, "month"])
    # NULLS LAST spelled out: DuckDB and Athena agree on it, and Arrow's sort puts nulls last
    order = ", ".join(f"{c} DESC NULLS LAST" for c in (spec.order_by, *spec.tie_break,
                                                        "recorded_at"))
    return (
        f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {keys} "
        f"ORDER BY {order}) AS rn__ FROM {source}) WHERE rn__ = 1"
    )


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
    con.execute(f"LOAD '{ext}'")  # the wheel's binary: nothing is downloaded, nothing is written
    opts = settings.s3
    parts = ["TYPE s3", f"REGION '{opts.region}'"]
    keys = (opts.access_key, opts.secret_key, opts.session_token)
    if not (opts.access_key and opts.secret_key):
        keys = _default_chain_keys() or keys
    if keys[0] and keys[1]:
        parts += [f"KEY_ID '{keys[0]}'", f"SECRET '{keys[1]}'"]
        if keys[2]:
            parts += [f"SESSION_TOKEN '{keys[2]}'"]
    else:
        parts += ["PROVIDER credential_chain"]
    if opts.endpoint_url:
        scheme, _, host = opts.endpoint_url.partition("://")
        parts += [
            f"ENDPOINT '{host}'",
            "URL_STYLE 'path'",
            f"USE_SSL {str(scheme == 'https').lower()}",
        ]
    con.execute(f"CREATE OR REPLACE SECRET seqledger_s3 ({', '.join(parts)})")


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


def connect(settings: Settings, store: LakeStore | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with ``raw_<table>``, ``<table>`` (deduplicated) and every SQL view."""
    import duckdb

    if settings.query_engine != "duckdb":
        # The Glue tables (infra/) serve Athena directly; the CLI and dashboards read with DuckDB.
        raise ConfigError(
            f"SEQLEDGER_QUERY_ENGINE={settings.query_engine}: seqledger's own commands query "
            "with DuckDB (over S3 too); query Athena through the Glue tables the stack creates"
        )
    store = store or LakeStore(settings)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if settings.lake_is_s3:
        _load_httpfs(con, settings)
    for name, spec in TABLES.items():
        # A typed empty relation written as SQL (so every cursor of the connection sees it):
        # the whole view when the table has no files yet, and the frame that gives files written
        # before an additive schema change the columns they lack (as NULL).
        cols = ", ".join(f"CAST(NULL AS {duckdb_type(f.type)}) AS {f.name}" for f in spec.schema)
        typed = f"SELECT {cols}, CAST(NULL AS VARCHAR) AS month WHERE false"
        if store.files(name):
            files = (
                f"SELECT * FROM read_parquet('{store.table_uri(name)}/**/*.parquet', "
                "hive_partitioning = true, union_by_name = true)"
            )
            src = f"{typed} UNION ALL BY NAME {files}"
        else:
            src = typed
        con.execute(f"CREATE VIEW raw_{name} AS {src}")
        con.execute(f"CREATE VIEW {name} AS {dedupe_sql(spec, f'raw_{name}')}")
    for name, sql in view_sql().items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    return con


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
