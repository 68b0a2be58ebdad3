"""The DuckDB engine: the lake's views in an in-process DuckDB (``analytics.engine.connect``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from analytics.engine import QueryError, QueryStats

if TYPE_CHECKING:
    import duckdb


class DuckDBEngine:
    """Queries on a DuckDB connection built by ``analytics.engine.connect``. Scans cost nothing."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.stats: list[QueryStats] = []

    def table(self, sql: str, params: Sequence[Any] = (), limit: int | None = None) -> pa.Table:
        import duckdb

        start = time.perf_counter()
        try:
            cur = self.con.execute(sql, list(params))
            if limit is None:
                result = cur.to_arrow_table()
            else:  # stop reading once there are enough rows
                reader = cur.to_arrow_reader(max(limit, 1))
                batch = next(iter(reader), None)
                result = (pa.Table.from_batches([batch]) if batch is not None
                          else reader.schema.empty_table()).slice(0, limit)
        except duckdb.Error as e:
            raise QueryError(f"query failed: {e}") from e
        self.stats.append(QueryStats(self.name, sql, time.perf_counter() - start))
        return _bigint_sums(result)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        import duckdb

        start = time.perf_counter()
        try:
            cur = self.con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            result = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except duckdb.Error as e:
            raise QueryError(f"query failed: {e}") from e
        self.stats.append(QueryStats(self.name, sql, time.perf_counter() - start))
        return result

    @property
    def skipped(self) -> tuple[str, ...]:
        """One line per lake file the views made so far leave out (``analytics.unreadable``)."""
        views = getattr(self.con, "views", None)  # a LazyConnection's, as ``connect`` makes
        return tuple(views.skipped) if views is not None else ()

    def close(self) -> None:
        self.con.close()


_HUGEINT = pa.decimal128(38, 0)


def _bigint_sums(table: pa.Table) -> pa.Table:
    """DuckDB's sum() of integers is a HUGEINT (Arrow decimal(38, 0)); Athena's is a bigint.

    Give callers the same type whichever engine answered (an overflow raises, never wraps).
    """
    for i, f in enumerate(table.schema):
        if f.type == _HUGEINT:
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
    return table
