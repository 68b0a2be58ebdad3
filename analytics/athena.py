"""The Athena engine, and the lake's views in the Glue catalog. The only module that talks to AWS.

Queries are DuckDB SQL transpiled to Trino (``analytics.dialect``) and run through awswrangler.
Mode: a plain query whose result Athena writes as one CSV to the results location, read back
with ``wr.athena.get_query_results`` (the ``ctas_approach=False`` path). For the small results
seqledger asks for (a few hundred grouped rows) it is the cheapest: the CTAS and UNLOAD paths
each create a temporary table or Parquet folder per query, adding a Glue call, a write and
seconds of latency to buy parallel reads that only pay off for millions of rows; the cursor
API pages 1,000 rows per request. The scan cap (``SEQLEDGER_ATHENA_MAX_SCAN_BYTES``, on top of
the workgroup's own cutoff) is checked twice: before sending, against an estimate from the lake's
Parquet footers when the lake is readable (``analytics.scan``); and while the query runs, which
is why we start it and poll it ourselves, stopping it once it has scanned past the cap.

Views: Athena keeps a view in Glue as a table of type ``VIRTUAL_VIEW`` whose original text is
``/* Presto View: <base64 JSON> */`` (the SQL, catalog, schema and column types). ``view_inputs``
builds those from the same SQL DuckDB runs; ``put_views`` writes them and ``read_views`` reads
them back for ``seqledger infra athena-views --check``.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from analytics.dialect import to_trino
from analytics.engine import QueryError, QueryStats, dedupe_sql, view_sql
from analytics.rollups import ROLLUPS, stored_view_sql
from lake.errors import ConfigError, TransientError
from lake.schemas import TABLES
from lake.settings import Settings

if TYPE_CHECKING:
    from lake.store import LakeStore

CATALOG = "awsdatacatalog"
VIEW_MARKER = "seqledger.view"  # Glue table parameter on the views this module owns
_PRESTO_PREFIX, _PRESTO_SUFFIX = "/* Presto View: ", " */"
_DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class AthenaEngine:
    """Queries on Athena over the Glue database's views (``raw_<table>`` are the Glue tables)."""

    database: str
    workgroup: str
    output: str | None = None  # results location; None: the workgroup's own
    max_scan_bytes: int | None = None
    poll_s: float = 0.25
    name: str = "athena"
    # The lake's files, when readable: with a cap, a query whose estimate (Parquet footers of
    # the columns and months it reads) passes the cap is refused before it starts.
    store: LakeStore | None = None

    def __post_init__(self) -> None:
        self.stats: list[QueryStats] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> AthenaEngine:
        store = None
        if settings.athena_max_scan_bytes is not None and settings.lake_is_s3:
            from lake.store import LakeStore

            store = LakeStore(settings)
        return cls(database=settings.athena_database, workgroup=settings.athena_workgroup,
                   output=settings.athena_output, max_scan_bytes=settings.athena_max_scan_bytes,
                   store=store)

    def estimate_bytes(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """What the query would scan, from the lake's Parquet footers; None without the lake."""
        if self.store is None:
            return None
        from analytics.dialect import parse_duckdb
        from analytics.scan import scan_bytes, scan_plan

        bound = parse_duckdb(sql, params).sql(dialect="duckdb")
        scans = scan_plan(bound, view_definitions())
        return sum(s.read_bytes for s in scan_bytes(scans, self.store))

    def table(self, sql: str, params: Sequence[Any] = (), limit: int | None = None) -> pa.Table:
        import awswrangler as wr
        import boto3
        import botocore.exceptions

        text = to_trino(sql, params)
        if self.max_scan_bytes is not None:
            estimate = self.estimate_bytes(sql, params)
            if estimate is not None and estimate > self.max_scan_bytes:
                raise QueryError(
                    f"not sent to Athena: the query would scan about {estimate:,} bytes, more "
                    f"than SEQLEDGER_ATHENA_MAX_SCAN_BYTES={self.max_scan_bytes:,}; filter by "
                    "month or raise the cap")
        start = time.perf_counter()
        try:
            query_id = wr.athena.start_query_execution(
                text, database=self.database, s3_output=self.output, workgroup=self.workgroup)
            execution = self._wait(boto3.client("athena"), query_id)
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes") or 0)
            self.stats.append(QueryStats(self.name, text, time.perf_counter() - start, scanned,
                                         query_id))
            frame = wr.athena.get_query_results(query_id, athena_query_wait_polling_delay=0)
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("ThrottlingException", "TooManyRequestsException",
                        "InternalServerException"):
                raise TransientError(f"Athena: {e}") from e
            raise QueryError(f"Athena refused the query: {e}") from e
        except botocore.exceptions.BotoCoreError as e:
            raise TransientError(f"Athena could not be reached: {e}") from e
        result = pa.Table.from_pandas(frame, preserve_index=False)
        return result if limit is None else result.slice(0, limit)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.table(sql, params).to_pylist()

    def _wait(self, client: Any, query_id: str) -> dict[str, Any]:
        """Poll until the query ends; stop it once it scans more than the cap."""
        while True:
            execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            state = execution["Status"]["State"]
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes") or 0)
            if self.max_scan_bytes is not None and scanned > self.max_scan_bytes:
                client.stop_query_execution(QueryExecutionId=query_id)
                raise QueryError(
                    f"Athena query {query_id} stopped: it scanned {scanned:,} bytes, more than "
                    f"SEQLEDGER_ATHENA_MAX_SCAN_BYTES={self.max_scan_bytes:,}; filter by month "
                    "or raise the cap")
            if state in _DONE:
                break
            time.sleep(self.poll_s)
        if state != "SUCCEEDED":
            reason = execution["Status"].get("StateChangeReason", "no reason given")
            raise QueryError(f"Athena query {query_id} {state.lower()}: {reason}")
        return execution

    def close(self) -> None:
        """Nothing to release: every query is its own request."""


# -- views in the Glue catalog ---------------------------------------------------------------------


def _trino_type(duckdb_type: str) -> str:
    """The Athena (Trino) type of a column DuckDB typed ``duckdb_type`` in the same view."""
    t = duckdb_type.upper()
    if t.endswith("[]"):
        return f"array({_trino_type(t[:-2])})"
    if t.startswith("MAP("):
        key, _, value = t[4:-1].partition(", ")
        return f"map({_trino_type(key)}, {_trino_type(value)})"
    if t.startswith("DECIMAL"):
        return t.lower()
    if t.startswith("TIMESTAMP"):
        return "timestamp(3)"  # Athena reads Glue's (Hive) timestamp with millisecond precision
    # sum() of integers is a HUGEINT in DuckDB and a bigint in Trino
    simple = {"VARCHAR": "varchar", "BIGINT": "bigint", "HUGEINT": "bigint", "INTEGER": "integer",
              "SMALLINT": "smallint", "TINYINT": "tinyint", "DOUBLE": "double", "FLOAT": "real",
              "BOOLEAN": "boolean", "DATE": "date"}
    try:
        return simple[t]
    except KeyError:
        raise TypeError(f"no Athena type for DuckDB {duckdb_type}") from None


def _hive_type(trino_type: str) -> str:
    """The Glue (Hive) spelling of a Trino type, for the view's storage descriptor."""
    if trino_type.startswith("array("):
        return f"array<{_hive_type(trino_type[6:-1])}>"
    if trino_type.startswith("map("):
        key, _, value = trino_type[4:-1].partition(", ")
        return f"map<{_hive_type(key)},{_hive_type(value)}>"
    return {"varchar": "string", "integer": "int", "real": "float",
            "timestamp(3)": "timestamp"}.get(trino_type, trino_type)


def view_definitions() -> dict[str, str]:
    """Every view Athena needs, name -> DuckDB SQL, in dependency order.

    The deduplicating view of each table reads the Glue table ``raw_<table>`` (the same names
    DuckDB uses), then the rollup views (the stored rollups as they are:
    ``analytics.rollups.stored_view_sql`` says why), then the views of ``analytics/sql``.
    """
    views = {name: dedupe_sql(spec, f"raw_{name}") for name, spec in TABLES.items()}
    return views | {r.view: stored_view_sql(r) for r in ROLLUPS} | view_sql()


def view_columns() -> dict[str, list[tuple[str, str]]]:
    """Each view's columns and Athena types, as DuckDB types them over an empty lake."""
    from analytics.engine import connect

    with tempfile.TemporaryDirectory() as empty:
        con = connect(Settings(lake_uri=empty))
        try:
            return {
                name: [(col, _trino_type(typ)) for col, typ, *_ in
                       con.execute(f"DESCRIBE {name}").fetchall()]
                for name in view_definitions()
            }
        finally:
            con.close()


def view_input(name: str, sql: str, columns: Sequence[tuple[str, str]], database: str
               ) -> dict[str, Any]:
    """The Glue ``TableInput`` of one Athena view (what ``CREATE VIEW`` in Athena would store)."""
    presto = {
        "originalSql": to_trino(sql),
        "catalog": CATALOG,
        "schema": database,
        "columns": [{"name": c, "type": t} for c, t in columns],
        "owner": "seqledger",
        "runAsInvoker": False,
        "properties": {},
    }
    encoded = base64.b64encode(json.dumps(presto).encode()).decode()
    return {
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Description": "seqledger view, generated by `seqledger infra athena-views`",
        "Parameters": {"presto_view": "true", "comment": "Presto View", VIEW_MARKER: "true"},
        "ViewOriginalText": f"{_PRESTO_PREFIX}{encoded}{_PRESTO_SUFFIX}",
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {
            "Columns": [{"Name": c, "Type": _hive_type(t)} for c, t in columns],
            "SerdeInfo": {},
        },
    }


def view_inputs(database: str) -> dict[str, dict[str, Any]]:
    """Glue ``TableInput``s of every view, in dependency order."""
    cols = view_columns()
    return {name: view_input(name, sql, cols[name], database)
            for name, sql in view_definitions().items()}


def presto_view(table: Mapping[str, Any]) -> dict[str, Any] | None:
    """The decoded Presto view JSON of a Glue table, or None when it is not an Athena view."""
    text = table.get("ViewOriginalText") or ""
    if table.get("TableType") != "VIRTUAL_VIEW" or not text.startswith(_PRESTO_PREFIX):
        return None
    try:
        return json.loads(base64.b64decode(text[len(_PRESTO_PREFIX):-len(_PRESTO_SUFFIX)]))
    except ValueError:
        return None


def describe_view_drift(expected: Mapping[str, Mapping[str, Any]],
                        actual: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per view that is missing, not a view, or differs in SQL or columns."""
    lines = []
    for name, want in expected.items():
        have = actual.get(name)
        if have is None:
            lines.append(f"view {name}: missing from the Glue catalog")
            continue
        got = presto_view(have)
        if got is None:
            lines.append(f"{name}: in the Glue catalog but not an Athena view")
            continue
        ref = presto_view(want)
        if got.get("originalSql") != ref["originalSql"]:
            lines.append(f"view {name}: its SQL differs from analytics/sql")
        if got.get("columns") != ref["columns"] or got.get("schema") != ref["schema"]:
            lines.append(f"view {name}: its columns differ")
    lines += [f"view {name}: in the Glue catalog but no longer generated"
              for name, t in actual.items()
              if name not in expected and (t.get("Parameters") or {}).get(VIEW_MARKER)]
    return lines


def _glue() -> Any:
    import boto3

    return boto3.client("glue")


def read_views(database: str) -> dict[str, dict[str, Any]]:
    """The Glue database's tables and views, name -> Glue table (with ``TableType``)."""
    import botocore.exceptions

    glue = _glue()
    try:
        tables: dict[str, dict[str, Any]] = {}
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
            tables |= {t["Name"]: t for t in page["TableList"]}
    except glue.exceptions.EntityNotFoundException as e:
        raise ConfigError(f"Glue database {database!r} does not exist: deploy the stack first "
                          "(docs/deploy-aws.md) or set SEQLEDGER_GLUE_DATABASE") from e
    except botocore.exceptions.BotoCoreError as e:
        raise TransientError(f"the Glue catalog could not be reached: {e}") from e
    return tables


def put_views(database: str, inputs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Create or update each view that differs in Glue; the names written, in order."""
    current = read_views(database)
    glue = _glue()
    written = []
    for name, table_input in inputs.items():
        have = current.get(name)
        if have is not None and not describe_view_drift({name: table_input}, {name: have}):
            continue
        if have is not None and presto_view(have) is None:
            raise ConfigError(f"Glue table {database}.{name} exists and is not a view: "
                              "seqledger will not replace it (rename or drop it first)")
        if have is None:
            glue.create_table(DatabaseName=database, TableInput=dict(table_input))
        else:
            glue.update_table(DatabaseName=database, TableInput=dict(table_input))
        written.append(name)
    return written
