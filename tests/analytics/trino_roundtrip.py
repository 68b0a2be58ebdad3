"""Proof a page's queries mean the same on Athena: record what an engine is asked, send each
query through the dialect to Trino SQL, read it back into DuckDB and compare the rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class Recorder:
    """An engine that answers with DuckDB and keeps each query's text and parameters."""

    def __init__(self, engine) -> None:
        self.engine, self.name, self.stats = engine, "duckdb", engine.stats
        self.sent: list[tuple[str, list[Any]]] = []

    def table(self, sql, params=(), limit=None):
        self.sent.append((sql, list(params)))
        return self.engine.table(sql, params, limit)

    def rows(self, sql, params=()):
        self.sent.append((sql, list(params)))
        return self.engine.rows(sql, params)

    def close(self) -> None:
        self.engine.close()


def comparable(rows: list[dict]) -> list:
    """Rows in a stable order, floats to a micro-unit and times as naive UTC (Athena's
    ``timestamp(3)`` has no zone)."""
    def norm(v):
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, datetime) and v.tzinfo:
            return v.astimezone(UTC).replace(tzinfo=None)
        return v
    return sorted((tuple((k, norm(v)) for k, v in r.items()) for r in rows), key=repr)


def assert_same_on_trino(engine, sent: list[tuple[str, list[Any]]]) -> None:
    """Each recorded query, as the Athena engine would send it, gives DuckDB's rows back."""
    from analytics.dialect import from_trino, to_trino

    for sql, params in sent:
        trino = to_trino(sql, params)
        assert "?" not in trino and "strftime" not in trino.lower(), trino
        if "strftime" in sql:
            assert "DATE_FORMAT" in trino
        assert comparable(engine.rows(from_trino(trino))) == comparable(
            engine.rows(sql, params)), sql
